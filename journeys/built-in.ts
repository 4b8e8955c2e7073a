// The built-in journeys, as data files beside this module, validated when loaded. Earlier versions stay in
// built-in/previous/, for enrollments pinned to them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateJourney, type JourneyDefinition } from './schema';

export { templatesOf } from './schema';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'built-in');

function load(folder: string): JourneyDefinition[] {
  return fs
    .readdirSync(folder)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const result = validateJourney(JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8')));
      if (!result.ok)
        throw new Error(
          `${path.relative(dir, path.join(folder, file))} is invalid:\n  ${result.errors.join('\n  ')}`,
        );
      return result.value;
    });
}

let current: JourneyDefinition[] | undefined;
let previous: JourneyDefinition[] | undefined;

/** The current version of each built-in journey. */
export function builtInJourneys(): JourneyDefinition[] {
  current ??= load(dir);
  return current;
}

/** A built-in journey at any version it has had. */
export function builtInJourneyVersion(key: string, version: number): JourneyDefinition | undefined {
  previous ??= load(path.join(dir, 'previous'));
  return [...builtInJourneys(), ...previous].find(
    (journey) => journey.key === key && journey.version === version,
  );
}
