// The built-in journeys, as data files beside this module, validated when loaded.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateJourney, type JourneyDefinition } from './schema';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'built-in');

let cached: JourneyDefinition[] | undefined;

export function builtInJourneys(): JourneyDefinition[] {
  cached ??= fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const result = validateJourney(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
      if (!result.ok)
        throw new Error(`journeys/built-in/${file} is invalid:\n  ${result.errors.join('\n  ')}`);
      return result.value;
    });
  return cached;
}

/** Template keys a definition can send, including every A/B variant. */
export function templatesOf(definition: JourneyDefinition): string[] {
  return definition.steps.flatMap((step) =>
    step.type === 'send' ? [step.template, ...(step.variants ?? []).map((variant) => variant.template)] : [],
  );
}
