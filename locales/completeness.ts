// Whether every shipped catalogue has everything English has: each file, each key, each plural form the
// language's rules (Intl.PluralRules, as i18next uses them) call for, and the same {{values}} in each text.
// npm test runs it over locales/; a language with a gap would otherwise send English words or blanks.
import fs from 'node:fs';
import path from 'node:path';
import { KEYWORDS } from './keywords';
import { DEFAULT_LANGUAGE, localesDir, supportedLanguages } from './languages';

/** A language's files: name without .json → parsed content. */
export type Catalogue = Record<string, unknown>;

export function readCatalogues(): Record<string, Catalogue> {
  return Object.fromEntries(
    supportedLanguages().map((language) => {
      const dir = path.join(localesDir, language);
      const files = fs.readdirSync(dir).filter((file) => file.endsWith('.json'));
      return [
        language,
        Object.fromEntries(
          files.map((file) => [
            path.basename(file, '.json'),
            JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')),
          ]),
        ),
      ];
    }),
  );
}

/** Every text of a message file by its dotted key: `email.subject` → "…". */
function flatten(value: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof value === 'string') out.set(prefix, value);
  else if (value && typeof value === 'object' && !Array.isArray(value))
    for (const [key, inner] of Object.entries(value))
      for (const [flat, text] of flatten(inner, prefix ? `${prefix}.${key}` : key)) out.set(flat, text);
  return out;
}

const PLURAL = /^(.*)_(zero|one|two|few|many|other)$/;
const values = (text: string) =>
  [...text.matchAll(/\{\{\s*(\w+)[^}]*\}\}/g)].map((match) => match[1]!).sort();

/** Every gap between English and another catalogue, as `<language>/<file>: <what>`. */
export function catalogueProblems(catalogues: Record<string, Catalogue>): string[] {
  const english = catalogues[DEFAULT_LANGUAGE];
  if (!english) return [`${DEFAULT_LANGUAGE}: the English catalogue is missing`];
  const problems: string[] = [];
  for (const [language, catalogue] of Object.entries(catalogues)) {
    const categories = new Intl.PluralRules(language).resolvedOptions().pluralCategories;
    const meta = catalogue._meta as { author?: unknown; nativeReview?: unknown } | undefined;
    if (typeof meta?.author !== 'string' || typeof meta.nativeReview !== 'boolean')
      problems.push(`${language}/_meta: needs "author" (text) and "nativeReview" (true or false)`);
    const keywords = catalogue.keywords as Record<string, unknown> | undefined;
    for (const keyword of KEYWORDS) {
      const words = keywords?.[keyword];
      if (!Array.isArray(words) || words.length === 0 || !words.every((word) => typeof word === 'string'))
        problems.push(`${language}/keywords: "${keyword}" needs a list of words`);
    }
    for (const [file, content] of Object.entries(english)) {
      if (file === '_meta' || file === 'keywords') continue;
      if (!(file in catalogue)) {
        problems.push(`${language}/${file}: missing`);
        continue;
      }
      const theirs = flatten(catalogue[file]);
      const plurals = new Set<string>();
      for (const [key, text] of flatten(content)) {
        const plural = PLURAL.exec(key);
        if (plural) {
          plurals.add(plural[1]!);
          continue;
        }
        const translated = theirs.get(key);
        if (translated === undefined) problems.push(`${language}/${file}: ${key} missing`);
        else if (values(translated).join() !== values(text).join())
          problems.push(
            `${language}/${file}: ${key} shows {{${values(translated).join('}}, {{')}}}, English {{${values(text).join('}}, {{')}}}`,
          );
      }
      // A count's forms: every category the language's plural rules have, and zero if English has one.
      for (const base of plurals) {
        const wanted = new Set([...categories, ...(flatten(content).has(`${base}_zero`) ? ['zero'] : [])]);
        const englishValues = values(flatten(content).get(`${base}_other`) ?? '').filter(
          (name) => name !== 'count',
        );
        for (const category of wanted) {
          const translated = theirs.get(`${base}_${category}`);
          if (translated === undefined) problems.push(`${language}/${file}: ${base}_${category} missing`);
          // A form may spell the number out ("يومان", two days), so {{count}} is optional.
          else if (
            values(translated)
              .filter((name) => name !== 'count')
              .join() !== englishValues.join()
          )
            problems.push(`${language}/${file}: ${base}_${category} shows other values than English`);
        }
      }
    }
  }
  return problems;
}
