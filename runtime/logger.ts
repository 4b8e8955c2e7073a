import pino from 'pino';

export type Logger = pino.Logger;

// Defence in depth: code logs opaque ids only, and these paths are censored should PHI slip into a log call.
const PHI_PATHS = ['name', 'dateOfBirth', 'phone', 'email', 'address', 'to', 'body', 'text', 'subject'];

export function createLogger(level: string, name = 'carebell'): Logger {
  return pino({
    name,
    level,
    // Top-level `name` is pino's logger name, so only nested names are censored.
    redact: {
      paths: [...PHI_PATHS.filter((path) => path !== 'name'), ...PHI_PATHS.map((path) => `*.${path}`)],
      censor: '[redacted]',
    },
  });
}
