import type { Client } from '@temporalio/client';
import type { Database } from '../db/client';
import type { EmailSender } from '../channels/email-sender';
import type { SmsSender } from '../channels/sms-sender';
import type { Translator } from '../locales';
import type { Logger } from '../runtime/logger';
import type { FieldCipher } from '../security/field-cipher';
import { createJourneyActivities } from './journey-send';
import { createScheduleActivities } from './schedule';
import { createSendActivities } from './send-reminder';
import { createSweepActivities } from './sweep';

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
  /** Where sweeps start the journeys they enroll patients in. */
  temporal: { client: Client; taskQueue: string };
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createScheduleActivities(deps),
    ...createSendActivities(deps),
    ...createJourneyActivities(deps),
    ...createSweepActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
