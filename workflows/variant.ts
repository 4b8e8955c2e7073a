// Pure and deterministic: a workflow may not use randomness that differs on replay.
/**
 * Deterministic A/B choice: the same patient always gets the same variant of a step (FNV-1a over the
 * patient id and step id, weighted).
 */
export function chooseVariant<V extends { key: string; weight: number }>(
  patientId: string,
  stepId: string,
  variants: V[],
): V {
  let hash = 0x811c9dc5;
  for (const char of `${patientId}/${stepId}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const total = variants.reduce((sum, variant) => sum + variant.weight, 0);
  let point = hash % total;
  for (const variant of variants) {
    if (point < variant.weight) return variant;
    point -= variant.weight;
  }
  return variants[variants.length - 1]!;
}
