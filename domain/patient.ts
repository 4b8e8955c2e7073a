/** Sex at birth as US Core records it; free text ("F", "Female") is normalised where it is written. */
export const SEX_AT_BIRTH = ['female', 'male', 'unknown'] as const;
export type SexAtBirth = (typeof SEX_AT_BIRTH)[number];

/** The enum value for what an EHR or a form wrote, or undefined when it says nothing recognisable. */
export function normaliseSexAtBirth(value: string | undefined): SexAtBirth | undefined {
  if (value === undefined) return undefined;
  const word = value.trim().toLowerCase();
  if (['f', 'female', 'woman', 'w'].includes(word)) return 'female';
  if (['m', 'male', 'man'].includes(word)) return 'male';
  if (['u', 'unk', 'unknown', 'asku', 'oth', 'other', 'un'].includes(word)) return 'unknown';
  return undefined;
}
