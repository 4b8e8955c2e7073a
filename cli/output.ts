import type { z } from 'zod';
import type { Endpoints } from '../infra/endpoints';
import { readJsonFile } from '../lib/json-file';
import { describeIssues } from '../lib/zod-issues';

/** A command's failure: printed as `carebell: <message>` and exits with the given code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Operator jobs span clinics: they need the tables' owner, not the application's login. */
export function ownerUrl(endpoints: Endpoints): string {
  if (!endpoints.ownerDatabaseUrl)
    throw new CliError("this needs the tables' owner: set DATABASE_URL to the owner's connection");
  return endpoints.ownerDatabaseUrl;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Progress goes to stderr so that --json output on stdout stays machine-readable. */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Reads and validates an input file; an unreadable, malformed or invalid one is a usage error (exit 2)
 * naming the file and each field at fault, never quoting its content.
 */
export async function readInputFile<T>(
  file: string,
  what: string,
  validate: (raw: unknown) => { ok: true; value: T } | { ok: false; errors: string[] },
): Promise<T> {
  const raw = await readJsonFile(file).catch((error: Error) => {
    throw new CliError(`the ${what} file: ${error.message}`, 2);
  });
  const result = validate(raw);
  if (!result.ok) throw new CliError(`${what} file ${file}:\n  ${result.errors.join('\n  ')}`, 2);
  return result.value;
}

/** `validate` for readInputFile from a zod schema. */
export const bySchema =
  <T>(schema: z.ZodType<T>, root: string) =>
  (raw: unknown): { ok: true; value: T } | { ok: false; errors: string[] } => {
    const parsed = schema.safeParse(raw);
    return parsed.success
      ? { ok: true, value: parsed.data }
      : { ok: false, errors: describeIssues(parsed.error, { root }) };
  };

/** Validates a command's options; each problem names its flag (`--time-zone: …`), a usage error (exit 2). */
export function parseOptions<T>(schema: z.ZodType<T>, raw: unknown): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const flag = (path: PropertyKey[]) =>
    `--${String(path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  throw new CliError(describeIssues(parsed.error, { path: flag }).join('\n'), 2);
}
