// Every fault scenario, in the order `npm run faults` runs them.
import type { Scenario } from './runner';
import {
  smtp550AtData,
  smtpRelayHangs,
  smtpTransientThenAccept,
  twilio429RetryAfter,
  twilio500AfterQueue,
} from './scenarios/providers';

export const scenarios: Scenario[] = [
  smtpTransientThenAccept,
  smtp550AtData,
  smtpRelayHangs,
  twilio429RetryAfter,
  twilio500AfterQueue,
];
