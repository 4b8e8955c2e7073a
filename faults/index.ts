// Every fault scenario, in the order `npm run faults` runs them.
import type { Scenario } from './runner';
import {
  postgresRestartWhileDue,
  temporalRestartMidTimer,
  twilioQueuedWorkerDies,
  workerKillAfterProvider,
  workerKillBeforeProvider,
} from './scenarios/crashes';
import {
  smtp550AtData,
  smtpRelayHangs,
  smtpTransientThenAccept,
  twilio429RetryAfter,
  twilio500AfterQueue,
} from './scenarios/providers';
import { ehrDuplicateOutOfOrder, poisonedRecordSweep } from './scenarios/events';
import { capsRaceAtWindowOpen, dstWhileWorkersDown } from './scenarios/timing';

export const scenarios: Scenario[] = [
  workerKillBeforeProvider,
  workerKillAfterProvider,
  temporalRestartMidTimer,
  postgresRestartWhileDue,
  smtpTransientThenAccept,
  smtp550AtData,
  smtpRelayHangs,
  twilio429RetryAfter,
  twilio500AfterQueue,
  twilioQueuedWorkerDies,
  ehrDuplicateOutOfOrder,
  poisonedRecordSweep,
  capsRaceAtWindowOpen,
  dstWhileWorkersDown,
];
