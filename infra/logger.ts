import pino from 'pino';

export type Logger = pino.Logger;

// Defence in depth: code logs opaque ids only, and these keys are censored should PHI slip into a log call.
const PHI_KEYS = [
  'name',
  'dateOfBirth',
  'sexAtBirth',
  'postalAddress',
  'externalId',
  'phone',
  'email',
  'address',
  'to',
  'body',
  'text',
  'subject',
];

// Up to two levels deep; top-level `name` is pino's own logger name and stays.
const REDACT_PATHS = [
  ...PHI_KEYS.filter((key) => key !== 'name'),
  ...PHI_KEYS.map((key) => `*.${key}`),
  ...PHI_KEYS.map((key) => `*.*.${key}`),
];

export function createLogger(level: string, name = 'carebell', destination?: pino.DestinationStream): Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
}
