// Dates, times and weekdays written as the patient's language writes them, in the patient's zone (luxon
// over Intl, so CLDR's data): "December 15", "15 de diciembre", "12月15日", "15 ديسمبر"; "9:30 AM", "9:30".
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { DateTime } from 'luxon';

// CLDR, hence Intl, has no Haitian Creole: its month and day names as Haitian Creole writes them (lower
// case, day before month), and French's 24-hour clock, which Haiti also uses.
const HAITIAN_MONTHS = [
  'janvye',
  'fevriye',
  'mas',
  'avril',
  'me',
  'jen',
  'jiyè',
  'out',
  'septanm',
  'oktòb',
  'novanm',
  'desanm',
];
const HAITIAN_WEEKDAYS = ['lendi', 'madi', 'mèkredi', 'jedi', 'vandredi', 'samdi', 'dimanch'];
const TIME_LOCALE: Record<string, string> = { ht: 'fr' };

const isDate = (value: string) => /^\d{4}-\d{2}-\d{2}$/.test(value);
const isTime = (value: string) => /^\d{2}:\d{2}$/.test(value);

/** A calendar date (YYYY-MM-DD) as month and day, optionally with its weekday. */
export function formatDate(isoDate: string, language: string, withWeekday = false): string {
  const date = DateTime.fromISO(isoDate);
  if (language === 'ht') {
    const day = `${date.day} ${HAITIAN_MONTHS[date.month - 1]}`;
    return withWeekday ? `${HAITIAN_WEEKDAYS[date.weekday - 1]} ${day}` : day;
  }
  return date
    .setLocale(language)
    .toLocaleString(
      withWeekday ? { weekday: 'long', month: 'long', day: 'numeric' } : { month: 'long', day: 'numeric' },
    );
}

/** A local time (HH:MM) as the language writes the time of day. */
export function formatTime(localTime: string, language: string): string {
  return DateTime.fromISO(localTime)
    .setLocale(TIME_LOCALE[language] ?? language)
    .toLocaleString(DateTime.TIME_SIMPLE);
}

/** Whole days from the day of `now` in the zone to the date; 0 on the day itself and after it. */
export function daysUntil(isoDate: string, now: number, timeZone: string): number {
  const today = DateTime.fromMillis(now, { zone: timeZone }).startOf('day');
  const day = DateTime.fromISO(isoDate, { zone: timeZone }).startOf('day');
  return Math.max(0, Math.round(day.diff(today, 'days').days));
}

/**
 * Suffixes of the values a date fact `X` also offers a template: `{{XWithWeekday}}` ("Wednesday,
 * December 15") and `{{XDaysLeft}}` ("12 days left", in the language's plural forms).
 */
export const DATE_VALUE_SUFFIXES = ['WithWeekday', 'DaysLeft'] as const;

/** The fact a value name shows: `deadlineDaysLeft` shows `deadline`. */
export const factOfValue = (name: string): string =>
  name.replace(new RegExp(`(${DATE_VALUE_SUFFIXES.join('|')})$`), '');

/**
 * The values an enrollment's facts give a template in a language: dates and times written for it, each
 * date with its weekday and the days left until it; other facts as they are.
 */
export function factValues(
  facts: Record<string, string>,
  options: { language: string; timeZone: string; now: number; daysLeft: (count: number) => string },
): Record<string, string> {
  const { language } = options;
  return Object.fromEntries(
    Object.entries(facts).flatMap(([name, value]): [string, string][] => {
      if (isTime(value)) return [[name, formatTime(value, language)]];
      if (!isDate(value)) return [[name, value]];
      return [
        [name, formatDate(value, language)],
        [`${name}WithWeekday`, formatDate(value, language, true)],
        [`${name}DaysLeft`, options.daysLeft(daysUntil(value, options.now, options.timeZone))],
      ];
    }),
  );
}

/** A number as people write it at home: (415) 555-0100 in the US, +44 20 7946 0000 elsewhere. */
export function displayPhone(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return e164;
  return parsed.country === 'US' ? parsed.formatNational() : parsed.formatInternational();
}
