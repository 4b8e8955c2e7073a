// Message catalogues: locales/<language>/<template>.json, loaded once per process.
import { createHash } from 'node:crypto';
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

const valuesByTemplate = new Map<string, string[]>();

/** The `{{name}}`s a template uses in any shipped language; read once per process. */
function templateValues(template: string): string[] {
  let names = valuesByTemplate.get(template);
  if (!names) {
    names = supportedLanguages().flatMap((language) => {
      const file = path.join(localesDir, language, `${template}.json`);
      if (!fs.existsSync(file)) return [];
      return [...fs.readFileSync(file, 'utf8').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((match) => match[1]!);
    });
    valuesByTemplate.set(template, names);
  }
  return names;
}

/**
 * Why an enrollment with these facts is refused, or undefined: a value a template uses that the send path
 * does not supply and `facts` does not give would otherwise be rendered as an empty gap.
 */
export function missingValuesProblem(
  journey: string,
  templates: string[],
  facts: Record<string, string>,
): string | undefined {
  const missing = new Set(
    templates
      .flatMap(templateValues)
      .filter((name) => !SUPPLIED_VALUES.includes(name) && facts[name] === undefined),
  );
  return missing.size > 0 ? `facts: ${journey} needs ${[...missing].sort().join(', ')}` : undefined;
}

const versions = new Map<string, string>();

/**
 * The version of a template's text in one language: a short hash of the catalogue entries a message
 * is rendered from (the template's file and the shared common.json), so the archive can say which
 * wording went out after the catalogues change.
 */
export function templateVersion(template: string, language: string): string {
  const key = `${language}/${template}`;
  let version = versions.get(key);
  if (!version) {
    const hash = createHash('sha256');
    for (const file of [`${template}.json`, 'common.json']) {
      const full = path.join(localesDir, language, file);
      hash.update(`${file}\n`).update(fs.existsSync(full) ? fs.readFileSync(full) : '');
    }
    version = hash.digest('hex').slice(0, 12);
    versions.set(key, version);
  }
  return version;
}
