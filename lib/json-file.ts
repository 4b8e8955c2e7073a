import fs from 'node:fs/promises';

/** A JSON file that cannot be read or parsed; the message never quotes the file's content. */
export class JsonFileError extends Error {
  override name = 'JsonFileError';
}

export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new JsonFileError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // V8's message quotes the text around the fault, which may be an EHR id or a name: keep the position only.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new JsonFileError(`${file} is not valid JSON${position ? ` (at character ${position})` : ''}`);
  }
}
