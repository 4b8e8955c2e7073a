import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { isValidPhoneNumber, parsePhoneNumberWithError } from 'libphonenumber-js';
import { DateTime, IANAZone } from 'luxon';
import { z } from 'zod';
import type { Config } from '../config';
import type { Database } from '../db/client';
import { getClinic, insertClinic } from '../db/queries/clinics';
import { findPatientIdByContact, insertPatient, updatePatient } from '../db/queries/patients';
import { withClinic } from '../db/tenant';
import type { FieldCipher } from '../security/field-cipher';
import { supportedLanguages } from '../locales';
import { startReminder } from '../usecases/start-workflows';
import type { Endpoints } from '../infra/endpoints';
import type { ReminderResult } from '../domain/reminder';
import { withCarebell } from './connect';
import { parseDuration } from './duration';
import { CliError, parseOptions, printJson, progress } from './output';

// A fixed id, so every demo run finds the same clinic without listing clinics across tenants.
const DEMO_CLINIC = { id: '00000000-0000-4000-8000-00000000de70', name: 'carebell demo clinic' };
const ACTOR = 'cli:demo';

const remindOptions = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200),
  phone: z
    .string()
    .refine(
      (value) => isValidPhoneNumber(value),
      'must be a valid phone number in E.164 form, e.g. +14155550123',
    )
    .transform((value) => parsePhoneNumberWithError(value).number),
  email: z.email('must be an email address').transform((value) => value.toLowerCase()),
  dob: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
    .refine((value) => {
      const date = DateTime.fromISO(value, { zone: 'utc' });
      return date.isValid && date < DateTime.utc() && date.year >= 1900;
    }, 'must be a real date in the past'),
  language: z.string().refine((value) => supportedLanguages().includes(value), {
    message: `must be one of: ${supportedLanguages().join(', ')}`,
  }),
  channel: z.enum(['sms', 'email']),
  in: z.string().transform((value, ctx) => {
    try {
      return parseDuration(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
  timeZone: z
    .string()
    .refine((value) => IANAZone.isValidZone(value), 'must be an IANA time zone such as America/New_York'),
  wait: z.boolean().default(false),
  timeout: z.string().optional(),
  json: z.boolean().default(false),
});

export type RemindOptions = z.input<typeof remindOptions>;

export async function demoRemindCommand(config: Config, raw: RemindOptions): Promise<void> {
  const options = parseOptions(remindOptions, raw);
  await withCarebell(config, async ({ endpoints, db, cipher, client, taskQueue }) => {
    const { clinicId, patientId } = await upsertDemoPatient(db, cipher, options);
    const handle = await startReminder(client, taskQueue, {
      clinicId,
      patientId,
      journey: 'demo',
      episode: randomUUID(),
      template: 'reminder',
      due: { kind: 'after', milliseconds: options.in },
    });
    const dueAt = DateTime.now().plus(options.in).setZone(options.timeZone);
    const started = { workflowId: handle.workflowId, clinicId, patientId, dueAt: dueAt.toUTC().toISO() };
    if (!options.wait) {
      if (options.json) printJson(started);
      else
        progress(`reminder ${handle.workflowId} started; due ${dueAt.toFormat('yyyy-MM-dd HH:mm:ss ZZZZ')}`);
      return;
    }

    progress(
      `reminder ${handle.workflowId} started; due ${dueAt.toFormat('yyyy-MM-dd HH:mm:ss ZZZZ')}; waiting`,
    );
    const timeoutMs = options.timeout ? parseDuration(options.timeout) : options.in + 120_000;
    const result = await waitForResult(handle.result(), timeoutMs, dueAt);
    const atPeer = await foundAtPeer(endpoints, result);
    if (options.json) printJson({ ...started, delivery: result, atPeer });
    else {
      process.stdout.write(
        `delivery ${result.deliveryId}: ${result.status} via ${result.channel ?? '-'}, provider id ${result.providerMessageId ?? '-'}` +
          `${result.reason ? ` (${result.reason})` : ''}\n`,
      );
      if (atPeer !== undefined)
        process.stdout.write(`local peer ${atPeer ? 'has the message' : 'does NOT have the message'}\n`);
    }
    if (result.status !== 'sent' && result.status !== 'delivered') {
      throw new CliError(`the reminder was ${result.status}: ${result.reason ?? 'no reason recorded'}`);
    }
    if (atPeer === false)
      throw new CliError('the provider accepted the message but the local peer has no copy of it');
  });
}

async function upsertDemoPatient(db: Database, cipher: FieldCipher, options: z.output<typeof remindOptions>) {
  return withClinic(db, DEMO_CLINIC.id, async (tx) => {
    const clinicId =
      (await getClinic(tx, DEMO_CLINIC.id))?.id ??
      (await insertClinic(tx, { ...DEMO_CLINIC, timeZone: options.timeZone })).id;
    const profile = {
      name: options.name,
      dateOfBirth: options.dob,
      language: options.language,
      timeZone: options.timeZone,
      preferredChannel: options.channel,
    };
    const existing =
      (await findPatientIdByContact(tx, cipher, ACTOR, clinicId, {
        channel: 'sms',
        address: options.phone,
      })) ??
      (await findPatientIdByContact(tx, cipher, ACTOR, clinicId, {
        channel: 'email',
        address: options.email,
      }));
    const contacts = [
      { channel: 'sms' as const, address: options.phone },
      { channel: 'email' as const, address: options.email },
    ];
    if (existing) {
      await updatePatient(tx, cipher, ACTOR, clinicId, existing, profile, contacts);
      return { clinicId, patientId: existing };
    }
    const patientId = await insertPatient(tx, cipher, ACTOR, clinicId, profile, contacts);
    return { clinicId, patientId };
  });
}

async function waitForResult(
  result: Promise<ReminderResult>,
  timeoutMs: number,
  dueAt: DateTime,
): Promise<ReminderResult> {
  const ticker = setInterval(() => {
    const seconds = Math.round(dueAt.diffNow().as('seconds'));
    progress(
      seconds > 0 ? `  due in ${seconds}s` : `  due ${-seconds}s ago; waiting for the provider hand-off`,
    );
  }, 10_000);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CliError(`no result after ${Math.round(timeoutMs / 1000)}s: is the worker running?`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([result, timeout]);
  } catch (error) {
    if (error instanceof WorkflowFailedError) {
      throw new CliError(`the reminder workflow failed: ${error.cause?.message ?? error.message}`);
    }
    throw error;
  } finally {
    clearInterval(ticker);
    clearTimeout(timer);
  }
}

/** With the local peers, confirms the message really arrived there; undefined for real providers. */
async function foundAtPeer(endpoints: Endpoints, result: ReminderResult): Promise<boolean | undefined> {
  const peers = endpoints.peers;
  if (!peers || !result.providerMessageId) return undefined;
  if (result.channel === 'sms') {
    const { accountSid, authToken } = endpoints.twilio!;
    const response = await fetch(`${peers.smsUrl}/_peer/messages`, {
      headers: { authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}` },
    });
    const { messages } = (await response.json()) as { messages: { sid: string }[] };
    return messages.some((message) => message.sid === result.providerMessageId);
  }
  const dir = path.join(peers.dir, 'smtp', 'messages');
  for (const name of await fs.readdir(dir)) {
    const raw = await fs.readFile(path.join(dir, name), 'utf8');
    if (raw.includes(`Message-ID: <${result.providerMessageId}>`)) return true;
  }
  return false;
}
