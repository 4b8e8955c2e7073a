// Every failure carebell names, in one place: a stable type (the Temporal failure type, the CLI's reason,
// later the HTTP problem type) and whether trying again can help. Messages never carry PHI.
import { ApplicationFailure } from '@temporalio/common';

export const errorTypes = {
  PatientNotFound: { retryable: false, summary: 'patient not found in this clinic' },
  InvalidDueTime: { retryable: false, summary: "the due time cannot be placed in the patient's zone" },
  ChannelUnavailable: { retryable: true, summary: 'the provider is unavailable for now' },
  /** Credentials, sender or TLS: retried, so the message still goes once an operator fixes it. */
  ChannelMisconfigured: { retryable: true, summary: 'the channel is misconfigured' },
  EventRejected: { retryable: false, summary: 'the event cannot be acted on as sent' },
  InvalidInput: { retryable: false, summary: 'a value is not valid' },
  InvalidConfiguration: { retryable: false, summary: 'the configuration is invalid' },
  SweepPageGaveUp: { retryable: false, summary: 'a sweep page kept failing; the next run starts over' },
} as const;

export type ErrorType = keyof typeof errorTypes;

/** Failure types an activity retry policy must not retry. */
export const nonRetryableErrorTypes = Object.entries(errorTypes)
  .filter(([, known]) => !known.retryable)
  .map(([type]) => type);

export class CarebellError extends Error {
  override name = 'CarebellError';
  constructor(
    readonly type: ErrorType,
    message: string = errorTypes[type].summary,
    /** A provider's Retry-After, honoured by the activity's next attempt; the underlying cause. */
    readonly options: { retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }

  get retryable(): boolean {
    return errorTypes[this.type].retryable;
  }
}

/** A value an input gave that cannot be used, named by its field (`body.phones.0.number`), never quoted. */
export class InvalidField extends CarebellError {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super('InvalidInput', `${field}: ${reason}`);
  }
}

/** The Temporal form of an activity's error: type and retryability cross to the workflow intact. */
export function toApplicationFailure(error: CarebellError): ApplicationFailure {
  return ApplicationFailure.create({
    type: error.type,
    message: error.message,
    nonRetryable: !error.retryable,
    nextRetryDelay: error.options.retryAfterMs,
    cause: error.cause instanceof Error ? error.cause : undefined,
  });
}

/** Whether `error`, or any failure it wraps (an ActivityFailure's cause), is of `type`. */
export function isFailureOf(error: unknown, type: ErrorType): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof ApplicationFailure && cause.type === type) return true;
    if (cause instanceof CarebellError && cause.type === type) return true;
  }
  return false;
}
