// What publishing a clinic's own version of a journey checks beyond its schema: every message it can send must be
// writable wholly in every shipped language, use only values the journey gives, and fit the clinic's SMS
// limit in every language: a patient reading Vietnamese or Chinese must not get a longer, costlier or
// broken message than one reading English.
import type { Clinic } from '../db/schema';
import { settingsOf } from '../journeys/clinic-settings';
import { templatesOf, type FactType, type JourneyDefinition } from '../journeys/schema';
import {
  displayPhone,
  longestSms,
  missingTexts,
  placeholders,
  SUPPLIED_VALUES,
  supportedLanguages,
  type ClinicTexts,
} from '../locales';
import { DATE_VALUE_SUFFIXES, factOfValue } from '../locales/format';
import { FCC_HEALTHCARE_MAX_CHARACTERS, smsLength } from '../rules/sms-segments';

/** A clinic's texts for one template, by language. */
function textsFor(definition: JourneyDefinition, template: string): ClinicTexts {
  return Object.fromEntries(
    Object.entries(definition.texts ?? {}).flatMap(([language, byTemplate]) =>
      byTemplate[template] ? [[language, byTemplate[template]]] : [],
    ),
  );
}

/** Why this clinic cannot publish this definition: every problem, each naming the language and template. */
export function publishProblems(definition: JourneyDefinition, clinic: Clinic, publicUrl: string): string[] {
  const problems: string[] = [];
  const shipped = supportedLanguages();
  const types: Record<string, FactType> = {
    ...Object.fromEntries(Object.entries(definition.facts ?? {}).map(([name, fact]) => [name, fact.type])),
    [definition.anchor]: 'date',
  };

  for (const [language, byTemplate] of Object.entries(definition.texts ?? {})) {
    if (!shipped.includes(language)) {
      problems.push(`texts.${language}: not a shipped language (${shipped.join(', ')})`);
      continue;
    }
    for (const [template, texts] of Object.entries(byTemplate)) {
      const fields = {
        sms: texts.sms,
        'email.subject': texts.email?.subject,
        'email.text': texts.email?.text,
      };
      for (const [field, text] of Object.entries(fields)) {
        for (const name of placeholders(text ?? '')) {
          const fact = factOfValue(name);
          const known =
            SUPPLIED_VALUES.includes(name) ||
            (fact === name ? types[name] !== undefined : types[fact] === 'date');
          if (!known)
            problems.push(
              `texts.${language}.${template}.${field}: {{${name}}} is not a value this journey gives ` +
                `(its facts, its anchor ${definition.anchor}, clinic, link, contact; a date also as ` +
                `${DATE_VALUE_SUFFIXES.map((suffix) => `<date>${suffix}`).join(', ')})`,
            );
        }
      }
    }
  }

  const settings = settingsOf(clinic.settings);
  const sender = {
    clinic: clinic.displayName ?? clinic.name,
    phone: clinic.contactPhone ? displayPhone(clinic.contactPhone) : undefined,
    // The link's token is always 12 characters.
    link: `${publicUrl}/m/${'x'.repeat(12)}`,
  };
  for (const template of new Set(templatesOf(definition))) {
    const texts = textsFor(definition, template);
    const missing = missingTexts(template, texts);
    if (missing.length > 0) {
      problems.push(
        `no message template ${missing.join(', ')} (locales/<language>/<template>.json or texts)`,
      );
      continue;
    }
    for (const language of shipped) {
      const sms = longestSms(template, language, { ...sender, types, texts });
      const { encoding, segments } = smsLength(sms);
      const characters = [...sms].length;
      if (segments > settings.smsMaxSegments)
        problems.push(
          `template "${template}" in ${language}: its SMS takes up to ${segments} segments (${characters} ` +
            `characters, ${encoding}); this clinic allows ${settings.smsMaxSegments} (smsMaxSegments)`,
        );
      // The FCC's conditions for healthcare messages sent without prior express consent (15-72).
      if (definition.category === 'transactional' && characters > FCC_HEALTHCARE_MAX_CHARACTERS)
        problems.push(
          `template "${template}" in ${language}: its SMS has up to ${characters} characters; a healthcare ` +
            `message may have ${FCC_HEALTHCARE_MAX_CHARACTERS}`,
        );
    }
  }
  return problems;
}

export class PublishRefused extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}
