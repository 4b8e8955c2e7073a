// The only module that reads process.env. Everything else receives a validated Config.
import { createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isValidPhoneNumber } from 'libphonenumber-js';
import { z } from 'zod';
import { CarebellError } from '../domain/errors';
import { describeIssues } from '../lib/zod-issues';
import { parseKeyRingSpec, type KeyRing } from '../security/key-ring';
import { MIN_OPERATOR_TOKEN_LENGTH } from '../security/operators';

const port = z.coerce.number().int().min(1).max(65535);
const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === '' ? undefined : value));
const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1');

/**
 * How many journeys a worker keeps in memory. Journeys sleep for days, so a cached sleeper only costs
 * memory; the cache needs to hold the journeys in the middle of a step (a few hundred at the worker's
 * concurrency), and a miss costs one history replay (`npm run bench -- sleepers` measures both).
 */
export const DEFAULT_WORKFLOW_CACHE_SIZE = 1000;

const operatorEntry = `[\\w.@-]+:[^,:\\s]{${MIN_OPERATOR_TOKEN_LENGTH},}`;

const envSchema = z
  .object({
    CAREBELL_DATA_DIR: z.string().trim().min(1).default('.carebell'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    CAREBELL_PUBLIC_URL: z.url({ protocol: /^https?$/ }).default('http://localhost:3000'),
    /** Where the API listens; unset, the public URL's port on the loopback address. */
    CAREBELL_API_HOST: z.string().trim().min(1).default('127.0.0.1'),
    CAREBELL_API_PORT: port.optional(),
    CAREBELL_API_RATE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(1200),
    /** Journeys a worker keeps in memory between their steps; 0 replays every step from its history. */
    CAREBELL_WORKFLOW_CACHE_SIZE: z.coerce
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .refine((size) => size !== 1, 'expected 0 (no cache) or at least 2')
      .default(DEFAULT_WORKFLOW_CACHE_SIZE),
    /** `paused`: the sweeps' schedules are created paused (a staging copy, a migration); see README. */
    CAREBELL_SWEEPS: z.enum(['on', 'paused']).default('on'),

    DATABASE_URL: optionalText.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
    CAREBELL_APP_DATABASE_URL: optionalText.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
    CAREBELL_POSTGRES_PORT: port.default(5433),

    TEMPORAL_ADDRESS: optionalText.pipe(
      z
        .string()
        .regex(/^[\w.-]+:\d+$/, 'expected host:port')
        .optional(),
    ),
    TEMPORAL_NAMESPACE: z.string().trim().min(1).default('default'),
    TEMPORAL_TASK_QUEUE: z.string().trim().min(1).default('carebell'),
    TEMPORAL_API_KEY: optionalText,
    TEMPORAL_TLS: flag,
    TEMPORAL_TLS_CERT_PATH: optionalText,
    TEMPORAL_TLS_KEY_PATH: optionalText,
    TEMPORAL_TLS_CA_PATH: optionalText,
    TEMPORAL_TLS_SERVER_NAME: optionalText,
    CAREBELL_TEMPORAL_PORT: port.default(7233),
    CAREBELL_TEMPORAL_UI_PORT: port.default(8233),
    TEMPORAL_CLI_PATH: optionalText,
    TEMPORAL_TEST_SERVER_PATH: optionalText,
    TEMPORAL_SERVER_PATH: optionalText,
    TEMPORAL_SQL_TOOL_PATH: optionalText,

    TWILIO_ACCOUNT_SID: optionalText.pipe(
      z
        .string()
        .regex(/^AC[0-9a-fA-F]{32}$/, 'expected AC followed by 32 hex digits')
        .optional(),
    ),
    TWILIO_AUTH_TOKEN: optionalText,
    TWILIO_FROM_NUMBER: optionalText.pipe(
      z
        .string()
        .refine((value) => isValidPhoneNumber(value), 'expected an E.164 phone number such as +15005550006')
        .optional(),
    ),
    TWILIO_MESSAGING_SERVICE_SID: optionalText.pipe(
      z
        .string()
        .regex(/^MG[0-9a-fA-F]{32}$/, 'expected MG followed by 32 hex digits')
        .optional(),
    ),
    TWILIO_API_BASE_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
    CAREBELL_SMS_PEER_PORT: port.default(8026),

    SMTP_URL: optionalText.pipe(z.url({ protocol: /^smtps?$/ }).optional()),
    SMTP_FROM: optionalText.pipe(z.email().optional()),
    SMTP_CA_FILE: optionalText,
    CAREBELL_SMTP_PEER_PORT: port.default(2526),
    DKIM_DOMAIN: optionalText.pipe(
      z
        .string()
        .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, 'expected a domain name')
        .optional(),
    ),
    DKIM_SELECTOR: optionalText.pipe(
      z
        .string()
        .regex(
          /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i,
          'expected a DNS label',
        )
        .optional(),
    ),
    DKIM_PRIVATE_KEY_PATH: optionalText,
    EMAIL_BOUNCE_WEBHOOK_SECRET: optionalText.pipe(
      z.string().min(32, 'expected at least 32 characters (e.g. `openssl rand -hex 32`)').optional(),
    ),

    CAREBELL_CODEC_PORT: port.default(8234),
    CAREBELL_CODEC_CORS_ORIGIN: z.url({ protocol: /^https?$/ }).default('http://localhost:8233'),
    CAREBELL_OPERATOR_TOKENS: optionalText.pipe(
      z
        .string()
        .regex(
          new RegExp(`^${operatorEntry}(,${operatorEntry})*$`),
          `expected name:token[,name:token…], tokens of ${MIN_OPERATOR_TOKEN_LENGTH}+ characters`,
        )
        .optional(),
    ),

    CAREBELL_KEYRING: optionalText,
    CAREBELL_BLIND_INDEX_KEY: optionalText,
  })
  .superRefine((env, ctx) => {
    if (env.TWILIO_ACCOUNT_SID) {
      if (!env.TWILIO_AUTH_TOKEN) {
        ctx.addIssue({
          code: 'custom',
          path: ['TWILIO_AUTH_TOKEN'],
          message: 'required when TWILIO_ACCOUNT_SID is set',
        });
      }
      if (!env.TWILIO_FROM_NUMBER && !env.TWILIO_MESSAGING_SERVICE_SID) {
        ctx.addIssue({
          code: 'custom',
          path: ['TWILIO_FROM_NUMBER'],
          message:
            'TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required when TWILIO_ACCOUNT_SID is set',
        });
      }
    } else if (env.TWILIO_AUTH_TOKEN || env.TWILIO_FROM_NUMBER || env.TWILIO_MESSAGING_SERVICE_SID) {
      ctx.addIssue({
        code: 'custom',
        path: ['TWILIO_ACCOUNT_SID'],
        message: 'required when any other TWILIO_ setting is set',
      });
    }
    if (
      env.DATABASE_URL &&
      env.CAREBELL_APP_DATABASE_URL &&
      new URL(env.DATABASE_URL).username === new URL(env.CAREBELL_APP_DATABASE_URL).username
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['CAREBELL_APP_DATABASE_URL'],
        message: "logs in as DATABASE_URL's user (the tables' owner); use carebell_app or a member of it",
      });
    }
    if (env.SMTP_URL && !env.SMTP_FROM) {
      ctx.addIssue({ code: 'custom', path: ['SMTP_FROM'], message: 'required when SMTP_URL is set' });
    }
    const dkim = [env.DKIM_DOMAIN, env.DKIM_SELECTOR, env.DKIM_PRIVATE_KEY_PATH];
    if (dkim.some(Boolean) && !dkim.every(Boolean)) {
      ctx.addIssue({
        code: 'custom',
        path: ['DKIM_PRIVATE_KEY_PATH'],
        message: 'DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_PATH go together',
      });
    } else if (env.DKIM_PRIVATE_KEY_PATH) {
      const problem = dkimKeyProblem(env.DKIM_PRIVATE_KEY_PATH);
      if (problem) ctx.addIssue({ code: 'custom', path: ['DKIM_PRIVATE_KEY_PATH'], message: problem });
    }
    if (Boolean(env.CAREBELL_KEYRING) !== Boolean(env.CAREBELL_BLIND_INDEX_KEY)) {
      ctx.addIssue({
        code: 'custom',
        path: ['CAREBELL_BLIND_INDEX_KEY'],
        message: 'CAREBELL_KEYRING and CAREBELL_BLIND_INDEX_KEY go together',
      });
    } else if (env.CAREBELL_KEYRING && env.CAREBELL_BLIND_INDEX_KEY) {
      try {
        parseKeyRingSpec(env.CAREBELL_KEYRING, env.CAREBELL_BLIND_INDEX_KEY);
      } catch (error) {
        const detail = error instanceof z.ZodError ? describeIssues(error).join('; ') : String(error);
        ctx.addIssue({
          code: 'custom',
          path: ['CAREBELL_KEYRING'],
          message: `expected id:base64key[,id:base64key…] (${detail})`,
        });
      }
    }
    if (Boolean(env.TEMPORAL_TLS_CERT_PATH) !== Boolean(env.TEMPORAL_TLS_KEY_PATH)) {
      ctx.addIssue({
        code: 'custom',
        path: ['TEMPORAL_TLS_KEY_PATH'],
        message: 'TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together',
      });
    }
  });

export interface TwilioSettings {
  accountSid: string;
  authToken: string;
  fromNumber?: string;
  messagingServiceSid?: string;
  /** Sends the SDK's requests here instead of api.twilio.com (the local peer, or a regional proxy). */
  apiBaseUrl?: string;
}

/** DKIM signing of every message (RFC 6376), with the key read once at start. */
export interface DkimSettings {
  domain: string;
  selector: string;
  /** PEM, RSA (rsa-sha256). */
  privateKey: string;
}

export interface SmtpSettings {
  url: string;
  from: string;
  /** PEM bundle trusted in addition to the system roots, e.g. the local peer's self-signed certificate. */
  caFile?: string;
}

export interface TemporalSettings {
  address?: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  tls?: { certPath?: string; keyPath?: string; caPath?: string; serverName?: string };
}

export interface Config {
  dataDir: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  publicUrl: string;
  /** The tables' owner: migrations and operator jobs that span clinics (key rotation, audit). */
  databaseUrl?: string;
  /** The application's own login (carebell_app or a member of it); unset, DATABASE_URL with SET ROLE. */
  appDatabaseUrl?: string;
  temporal: TemporalSettings;
  twilio?: TwilioSettings;
  smtp?: SmtpSettings;
  /** Signs outgoing mail when set (the local peer's too). */
  dkim?: DkimSettings;
  codec: { port: number; corsOrigin: string };
  /** The HTTP API: where it listens, and requests per key per minute. */
  api: {
    host: string;
    port: number;
    rateLimitPerMinute: number;
    /** HMAC secret of POST /webhooks/email/bounce; unset, the webhook is off (404). */
    bounceWebhookSecret?: string;
  };
  worker: {
    /** Journeys kept in memory between steps (maxCachedWorkflows). */
    workflowCacheSize: number;
    /** Sweep schedules are created paused; operators resume them with `carebell sweeps resume`. */
    sweepsPaused: boolean;
  };
  /** Operators allowed to decode Temporal payloads; unset, `npm start` keeps one token in the data dir. */
  operators?: { name: string; token: string }[];
  /** From CAREBELL_KEYRING; unset, the embedded default keeps one in <data dir>/keyring.json. */
  keyRing?: KeyRing;
  /** Ports and binaries of the embedded default, used only when the real service is not configured. */
  embedded: {
    postgresPort: number;
    temporalPort: number;
    temporalUiPort: number;
    smsPeerPort: number;
    smtpPeerPort: number;
    temporalCliPath?: string;
    temporalTestServerPath?: string;
    /** Temporal's own server and its schema tool, for the cluster benchmark on PostgreSQL. */
    temporalServerPath?: string;
    temporalSqlToolPath?: string;
  };
}

export class ConfigError extends CarebellError {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(
      'InvalidConfiguration',
      `invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
    );
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(describeIssues(parsed.error, { root: '(environment)' }));
  }
  const e = parsed.data;
  const useTls =
    e.TEMPORAL_TLS ||
    Boolean(e.TEMPORAL_API_KEY) ||
    Boolean(e.TEMPORAL_TLS_CERT_PATH) ||
    Boolean(e.TEMPORAL_TLS_CA_PATH);
  return {
    dataDir: path.resolve(e.CAREBELL_DATA_DIR),
    logLevel: e.LOG_LEVEL,
    publicUrl: e.CAREBELL_PUBLIC_URL.replace(/\/$/, ''),
    databaseUrl: e.DATABASE_URL,
    appDatabaseUrl: e.CAREBELL_APP_DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY,
      tls: useTls
        ? {
            certPath: e.TEMPORAL_TLS_CERT_PATH,
            keyPath: e.TEMPORAL_TLS_KEY_PATH,
            caPath: e.TEMPORAL_TLS_CA_PATH,
            serverName: e.TEMPORAL_TLS_SERVER_NAME,
          }
        : undefined,
    },
    twilio: e.TWILIO_ACCOUNT_SID
      ? {
          accountSid: e.TWILIO_ACCOUNT_SID,
          authToken: e.TWILIO_AUTH_TOKEN!,
          fromNumber: e.TWILIO_FROM_NUMBER,
          messagingServiceSid: e.TWILIO_MESSAGING_SERVICE_SID,
          apiBaseUrl: e.TWILIO_API_BASE_URL,
        }
      : undefined,
    smtp: e.SMTP_URL ? { url: e.SMTP_URL, from: e.SMTP_FROM!, caFile: e.SMTP_CA_FILE } : undefined,
    api: {
      host: e.CAREBELL_API_HOST,
      port: e.CAREBELL_API_PORT ?? publicPort(e.CAREBELL_PUBLIC_URL),
      rateLimitPerMinute: e.CAREBELL_API_RATE_LIMIT,
      bounceWebhookSecret: e.EMAIL_BOUNCE_WEBHOOK_SECRET,
    },
    dkim:
      e.DKIM_DOMAIN && e.DKIM_SELECTOR && e.DKIM_PRIVATE_KEY_PATH
        ? {
            domain: e.DKIM_DOMAIN.toLowerCase(),
            selector: e.DKIM_SELECTOR,
            privateKey: fs.readFileSync(e.DKIM_PRIVATE_KEY_PATH, 'utf8'),
          }
        : undefined,
    worker: {
      workflowCacheSize: e.CAREBELL_WORKFLOW_CACHE_SIZE,
      sweepsPaused: e.CAREBELL_SWEEPS === 'paused',
    },
    codec: { port: e.CAREBELL_CODEC_PORT, corsOrigin: e.CAREBELL_CODEC_CORS_ORIGIN.replace(/\/$/, '') },
    operators: e.CAREBELL_OPERATOR_TOKENS?.split(',').map((entry) => {
      const [name, token] = entry.split(':') as [string, string];
      return { name, token };
    }),
    keyRing:
      e.CAREBELL_KEYRING && e.CAREBELL_BLIND_INDEX_KEY
        ? parseKeyRingSpec(e.CAREBELL_KEYRING, e.CAREBELL_BLIND_INDEX_KEY)
        : undefined,
    embedded: {
      postgresPort: e.CAREBELL_POSTGRES_PORT,
      temporalPort: e.CAREBELL_TEMPORAL_PORT,
      temporalUiPort: e.CAREBELL_TEMPORAL_UI_PORT,
      smsPeerPort: e.CAREBELL_SMS_PEER_PORT,
      smtpPeerPort: e.CAREBELL_SMTP_PEER_PORT,
      temporalCliPath: e.TEMPORAL_CLI_PATH,
      temporalTestServerPath: e.TEMPORAL_TEST_SERVER_PATH,
      temporalServerPath: e.TEMPORAL_SERVER_PATH,
      temporalSqlToolPath: e.TEMPORAL_SQL_TOOL_PATH,
    },
  };
}

/** Why the file cannot serve as a DKIM signing key, or undefined when it can. */
function dkimKeyProblem(file: string): string | undefined {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch {
    return 'cannot be read';
  }
  try {
    const key = createPrivateKey(pem);
    // nodemailer signs rsa-sha256 only.
    if (key.asymmetricKeyType !== 'rsa') return 'expected an RSA private key';
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 1024)
      return 'an RSA key of at least 1024 bits (2048 recommended)';
  } catch {
    return 'expected a PEM private key';
  }
  return undefined;
}

function publicPort(publicUrl: string): number {
  const url = new URL(publicUrl);
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** The user's cache directory for provisioned binaries; outside any checkout so fresh clones reuse it. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || '/tmp', '.cache');
  return path.join(base, 'carebell');
}
