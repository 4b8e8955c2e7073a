import type { z } from 'zod';

/**
 * One line per problem, `path: message`, in the words of the thing validated (`(event)`, `--phone`).
 * zod's messages name what was expected, never the value received, so no input (and no PHI) is echoed;
 * unknown keys are repeated only when they are plain words.
 */
export function describeIssues(
  error: z.ZodError,
  options: { root?: string; path?: (path: PropertyKey[]) => string } = {},
): string[] {
  const pathOf = options.path ?? ((path: PropertyKey[]) => path.map(String).join('.'));
  return error.issues.map(
    (issue) =>
      `${(issue.path.length ? pathOf(issue.path.map(shownSegment)) : '') || (options.root ?? '(input)')}: ${messageOf(issue)}`,
  );
}

/** A path segment as it may be repeated: an index or a plain word, never a key someone made up verbatim. */
const shownSegment = (segment: PropertyKey): PropertyKey =>
  typeof segment === 'number' || PLAIN_KEY.test(String(segment)) ? segment : '(field)';

/** Field names as schemas spell them; digits are left out (an identifier, an MRN, has them). */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z_-]{0,40}$/;

/** zod quotes unknown keys, which are input: only plain words are repeated (a key may be a name). */
function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'unrecognized_keys') return issue.message;
  const keys = issue.keys.map((key) => (PLAIN_KEY.test(key) ? `"${key}"` : '(a key not shown)'));
  return `unknown field${keys.length > 1 ? 's' : ''} ${[...new Set(keys)].join(', ')}`;
}
