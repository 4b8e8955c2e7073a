import type { z } from 'zod';

/**
 * One line per problem, `path: message`, in the words of the thing validated (`(event)`, `--phone`).
 * zod's messages name what was expected, never the value received, so no input (and no PHI) is echoed.
 */
export function describeIssues(
  error: z.ZodError,
  options: { root?: string; path?: (path: PropertyKey[]) => string } = {},
): string[] {
  const pathOf = options.path ?? ((path: PropertyKey[]) => path.map(String).join('.'));
  return error.issues.map(
    (issue) =>
      `${(issue.path.length ? pathOf(issue.path) : '') || (options.root ?? '(input)')}: ${issue.message}`,
  );
}
