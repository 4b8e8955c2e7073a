import type { Client } from '@temporalio/client';
import type { EmailSender } from '../channels/email-sender';
import type { SmsSender } from '../channels/sms-sender';
import type { Database } from '../db/client';
import type { Logger } from '../infra/logger';
import type { Translator } from '../locales';
import type { FieldCipher } from '../security/field-cipher';

/** What the activities need from the world; the worker passes real ones, tests their own. */
export interface ActivityDeps {
  /** An application connection: every query runs inside withClinic(). */
  db: Database;
  cipher: FieldCipher;
  sms: SmsSender;
  email: EmailSender;
  translator: Translator;
  /** Base URL of the secure pickup page that messages link to. */
  publicUrl: string;
  log: Logger;
  /** The worker's clock: the rules are checked against the moment of each attempt. */
  clock: () => number;
  /** Where sweeps start the journeys they enroll patients in. */
  temporal: { client: Client; taskQueue: string };
}
