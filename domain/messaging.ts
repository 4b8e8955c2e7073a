// The words of sending, shared by workflows (which may import this file), activities, the database enums
// and the CLI. The database enums are built from these lists, so the two cannot drift.

export const CHANNELS = ['sms', 'email'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Marketing needs the patient's opt-in; transactional messages (refills, screenings due) need no opt-out. */
export const CATEGORIES = ['transactional', 'marketing'] as const;
export type Category = (typeof CATEGORIES)[number];

export const PATIENT_STATUSES = ['active', 'inactive', 'deceased'] as const;
export type PatientStatus = (typeof PATIENT_STATUSES)[number];

/** `pending` from the moment the row is claimed until the provider call's outcome is recorded. */
export const DELIVERY_STATUSES = ['pending', 'sent', 'delivered', 'failed', 'suppressed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
/** How every due send ends: one of these, never lost. */
export type DeliveryOutcome = Exclude<DeliveryStatus, 'pending'>;

export const ENROLLMENT_STATUSES = ['active', 'completed', 'exited', 'cancelled'] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];
