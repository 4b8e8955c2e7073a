// Workflow ids are business ids built from opaque ids only, so a duplicate trigger finds the running
// workflow and the id itself (visible in Temporal, unencrypted) reveals nothing about the patient.
const OPAQUE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function opaqueWorkflowId(kind: string, parts: Record<string, string>): string {
  for (const [field, value] of Object.entries(parts)) {
    if (!OPAQUE_ID.test(value)) throw new Error(`${field} must be an opaque id of letters, digits, - and _`);
  }
  return [kind, ...Object.values(parts)].join(':');
}
