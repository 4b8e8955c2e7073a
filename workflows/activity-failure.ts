import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { isFailureOf } from '../domain/errors';

/**
 * Whether an activity failed for good: the server's ActivityFailure, or a local activity's own
 * ApplicationFailure, which the SDK hands the workflow unwrapped (timeouts of either kind come wrapped).
 */
export function isActivityFailure(error: unknown): error is ActivityFailure | ApplicationFailure {
  return error instanceof ActivityFailure || error instanceof ApplicationFailure;
}

/** Why a due send ended unsent after its retries ran out, as recorded on its delivery row. */
export function unsentReason(error: ActivityFailure | ApplicationFailure): string {
  return isFailureOf(error, 'ChannelMisconfigured') ? 'channel-misconfigured' : 'provider-unavailable';
}
