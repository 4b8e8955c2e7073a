// What an event or a journey is about (a prescription, a screening test) arrives from EHRs and sweeps in
// whatever case and spacing they use; "Mammogram" and "mammogram " must be the same subject wherever a
// subject is hashed or compared, so every one of those places goes through this one function.

/** Unicode-compatible form, trimmed, inner whitespace collapsed, lower case. */
export function normaliseSubject(subject: string): string {
  return subject.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}
