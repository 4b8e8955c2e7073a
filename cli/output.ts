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

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Progress goes to stderr so that --json output on stdout stays machine-readable. */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}
