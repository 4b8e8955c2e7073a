// Message catalogues: locales/<language>/<template>.json, loaded once per process.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import i18next, { type Resource, type ResourceLanguage, type TFunction } from 'i18next';

const localesDir = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_LANGUAGE = 'en';

let shipped: string[] | undefined;

export function supportedLanguages(): string[] {
  shipped ??= fs
    .readdirSync(localesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return shipped;
}

/** The shipped language a message in `tag` (BCP 47) is written in: es-MX → es; unknown → English. */
export function resolveLanguage(tag: string): string {
  const base = tag.split('-')[0]!.toLowerCase();
  return supportedLanguages().includes(base) ? base : DEFAULT_LANGUAGE;
}

function loadResources(): Resource {
  const resources: Resource = {};
  for (const language of supportedLanguages()) {
    const dir = path.join(localesDir, language);
    resources[language] = Object.fromEntries(
      fs
        .readdirSync(dir)
        .filter((file) => file.endsWith('.json'))
        .map((file) => [
          path.basename(file, '.json'),
          JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as ResourceLanguage,
        ]),
    );
  }
  return resources;
}

export interface Translator {
  /** Translator for a BCP 47 tag; falls back from es-MX to es, then to English. */
  forLanguage(language: string): { t: TFunction; language: string };
}

export async function createTranslator(): Promise<Translator> {
  const instance = i18next.createInstance();
  const resources = loadResources();
  await instance.init({
    resources,
    fallbackLng: DEFAULT_LANGUAGE,
    // Messages are plain text (SMS, text email), never HTML.
    interpolation: { escapeValue: false },
    returnNull: false,
    showSupportNotice: false,
  });
  return {
    forLanguage(tag) {
      const language = resolveLanguage(tag);
      return { t: instance.getFixedT(language), language };
    },
  };
}

/** `<language>/<template>` for each template missing in a language the project ships. */
export function missingTemplates(templates: string[]): string[] {
  return supportedLanguages().flatMap((language) =>
    templates
      .filter((template) => !fs.existsSync(path.join(localesDir, language, `${template}.json`)))
      .map((template) => `${language}/${template}`),
  );
}

/** Values every message gets from the send path itself; any other `{{name}}` must come with the enrollment. */
const SUPPLIED_VALUES = ['clinic', 'link', 'contact'];

/**
 * `template: name` for each value a template uses (in any shipped language) that `facts` does not give:
 * refused at enrollment, so no message is ever rendered with an empty gap.
 */
export function missingValues(templates: string[], facts: Record<string, string>): string[] {
  const missing = new Set<string>();
  for (const language of supportedLanguages()) {
    for (const template of templates) {
      const file = path.join(localesDir, language, `${template}.json`);
      if (!fs.existsSync(file)) continue;
      for (const [, name] of fs.readFileSync(file, 'utf8').matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
        if (!SUPPLIED_VALUES.includes(name!) && facts[name!] === undefined)
          missing.add(`${template}: ${name}`);
      }
    }
  }
  return [...missing].sort();
}
