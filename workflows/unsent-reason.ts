import type { ActivityFailure } from '@temporalio/workflow';
import { isFailureOf } from '../domain/errors';

/** Why a due send ended unsent after its retries ran out, as recorded on its delivery row. */
export function unsentReason(error: ActivityFailure): string {
  return isFailureOf(error, 'ChannelMisconfigured') ? 'channel-misconfigured' : 'provider-unavailable';
}
