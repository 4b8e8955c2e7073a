import fs from 'node:fs/promises';

/** JSON that cannot be read or parsed; the message never quotes the content. */
export class JsonFileError extends Error {
  override name = 'JsonFileError';
}

/**
 * JSON.parse for text from outside (a file, a request body, a stored value). V8's message quotes the text
 * around the fault, which may be an EHR id, a name or a key: the error keeps the position only.
 */
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new JsonFileError(`${source} is not valid JSON${position ? ` (at character ${position})` : ''}`);
  }
}

export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new JsonFileError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseJson(text, file);
}
