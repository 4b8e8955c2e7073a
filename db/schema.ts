// Columns ending in `_enc` hold PHI encrypted by security/field-cipher.ts (key id inside the value, bound
// to clinic, table, column and row). Columns ending in `_index` are keyed blind indexes for look-ups.
// Every table with patient data carries clinic_id and is under row-level security (migration 0001).
import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import {
  CATEGORIES,
  CHANNELS,
  DELIVERY_STATUSES,
  ENROLLMENT_STATUSES,
  PATIENT_STATUSES,
} from '../domain/messaging';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const clinicRef = () =>
  uuid('clinic_id')
    .notNull()
    .references(() => clinics.id);

export const channel = pgEnum('channel', CHANNELS);
export const category = pgEnum('message_category', CATEGORIES);
export const patientStatus = pgEnum('patient_status', PATIENT_STATUSES);
export const deliveryStatus = pgEnum('delivery_status', DELIVERY_STATUSES);
export const enrollmentStatus = pgEnum('enrollment_status', ENROLLMENT_STATUSES);

export const clinics = pgTable('clinics', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** Legal name, for the clinic's staff; never shown to patients (it may disclose a condition). */
  name: text('name').notNull(),
  /** The name messages carry; defaults to `name` when unset. */
  displayName: text('display_name'),
  /** E.164 number that messages and HELP replies give patients to call. */
  contactPhone: text('contact_phone'),
  postalAddress: text('postal_address'),
  timeZone: text('time_zone').notNull(),
  /** Local times HH:MM; sends outside the window wait for its next opening. */
  quietHoursEnd: text('quiet_hours_end').notNull().default('08:00'),
  quietHoursStart: text('quiet_hours_start').notNull().default('21:00'),
  maxPerDay: integer('max_per_day').notNull().default(1),
  maxPerWeek: integer('max_per_week').notNull().default(3),
  smsSender: text('sms_sender'),
  emailSender: text('email_sender'),
  /** journeys/clinic-settings.ts: open-enrollment dates, when a patient is lapsed. Never PHI. */
  settings: jsonb('settings').notNull().default({}),
  createdAt: createdAt(),
});

/** Per-clinic API keys, stored hashed. Not read or written yet: the HTTP API issue (13) issues and checks them. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clinicId: clinicRef(),
    name: text('name').notNull(),
    /** Shown to operators to tell keys apart; the key itself is never stored. */
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull(),
    scopes: text('scopes').array().notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (table) => [uniqueIndex('api_keys_prefix').on(table.prefix)],
);

export const patients = pgTable(
  'patients',
  {
    id: uuid('id').primaryKey(),
    clinicId: clinicRef(),
    externalIdEnc: text('external_id_enc'),
    externalIdIndex: text('external_id_index'),
    nameEnc: text('name_enc').notNull(),
    dateOfBirthEnc: text('date_of_birth_enc').notNull(),
    sexAtBirthEnc: text('sex_at_birth_enc'),
    postalAddressEnc: text('postal_address_enc'),
    /** journeys/care.ts: last visit, appointments booked, coverage (JSON, encrypted). */
    careEnc: text('care_enc'),
    language: text('language').notNull(),
    timeZone: text('time_zone').notNull(),
    status: patientStatus('status').notNull().default('active'),
    createdAt: createdAt(),
  },
  (table) => [
    index('patients_clinic_idx').on(table.clinicId),
    uniqueIndex('patients_external_id').on(table.clinicId, table.externalIdIndex),
  ],
);

export const contactPoints = pgTable(
  'contact_points',
  {
    id: uuid('id').primaryKey(),
    clinicId: clinicRef(),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id, { onDelete: 'cascade' }),
    channel: channel('channel').notNull(),
    /** E.164 for sms, an address for email. */
    addressEnc: text('address_enc').notNull(),
    addressIndex: text('address_index').notNull(),
    verified: boolean('verified').notNull().default(false),
    rank: integer('rank').notNull().default(0),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex('contact_points_patient_address').on(table.patientId, table.channel, table.addressIndex),
    index('contact_points_lookup').on(table.clinicId, table.channel, table.addressIndex),
  ],
);

export const channelPreferences = pgTable('channel_preferences', {
  patientId: uuid('patient_id')
    .primaryKey()
    .references(() => patients.id, { onDelete: 'cascade' }),
  clinicId: clinicRef(),
  preferredChannel: channel('preferred_channel').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Consent history: every grant or revocation is a new row; the latest per (channel, category) holds. */
export const consents = pgTable(
  'consents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clinicId: clinicRef(),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id),
    channel: channel('channel').notNull(),
    category: category('category').notNull(),
    granted: boolean('granted').notNull(),
    source: text('source').notNull(),
    evidenceEnc: text('evidence_enc'),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('consents_patient_idx').on(table.clinicId, table.patientId, table.channel, table.category),
  ],
);

export const journeyDefinitions = pgTable(
  'journey_definitions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clinicId: clinicRef(),
    key: text('key').notNull(),
    version: integer('version').notNull(),
    definition: jsonb('definition').notNull(),
    createdAt: createdAt(),
  },
  (table) => [uniqueIndex('journey_definitions_version').on(table.clinicId, table.key, table.version)],
);

export const enrollments = pgTable(
  'enrollments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clinicId: clinicRef(),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id),
    journeyKey: text('journey_key').notNull(),
    journeyVersion: integer('journey_version').notNull(),
    category: category('category').notNull(),
    /** Keyed hash of the event's occurrence (e.g. the dispense), so a duplicate event finds this row. */
    episode: text('episode').notNull(),
    /** Keyed hash of what the journey is about (e.g. the prescription); goal events match on it. */
    subject: text('subject'),
    workflowId: text('workflow_id').notNull(),
    status: enrollmentStatus('status').notNull().default('active'),
    outcome: text('outcome'),
    /** The next send the journey plans, so marketing sends give way to a transactional one that day. */
    nextSendAt: timestamp('next_send_at', { withTimezone: true }),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('enrollments_workflow').on(table.workflowId),
    index('enrollments_patient_active').on(table.clinicId, table.patientId, table.status),
  ],
);

/**
 * EHR events already acted on, by keyed hash of the EHR's event id (and type), so a late repeat of an old
 * event (a re-sent dispense) changes nothing instead of ending the journey a newer event started.
 */
export const processedEvents = pgTable(
  'processed_events',
  {
    clinicId: clinicRef(),
    eventIndex: text('event_index').notNull(),
    processedAt: timestamp('processed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.clinicId, table.eventIndex] })],
);

/** Screenings a patient has had (from the EHR), for the daily screening check. Test and date are PHI. */
export const screeningRecords = pgTable(
  'screening_records',
  {
    id: uuid('id').primaryKey(),
    clinicId: clinicRef(),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id, { onDelete: 'cascade' }),
    /** JSON { test, performedOn }, encrypted. */
    recordEnc: text('record_enc').notNull(),
    /** Keyed hash of test and date, so the same screening reported twice is kept once (set since 0003). */
    recordIndex: text('record_index'),
    createdAt: createdAt(),
  },
  (table) => [
    index('screening_records_patient').on(table.clinicId, table.patientId),
    uniqueIndex('screening_records_once').on(table.clinicId, table.patientId, table.recordIndex),
  ],
);

/**
 * One row per due send. Written (status pending) before the provider is called and completed after it,
 * so a retried activity finds the row instead of sending again.
 */
export const deliveries = pgTable(
  'deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clinicId: clinicRef(),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id),
    idempotencyKey: text('idempotency_key').notNull(),
    template: text('template').notNull(),
    category: category('category').notNull().default('transactional'),
    channel: channel('channel'),
    /** Blind index of the address the last attempt went to: caps count per destination too. */
    addressIndex: text('address_index'),
    /** The shipped language the message was rendered in. */
    language: text('language'),
    /** True when that was not the patient's own (no text in it): the clinic's default, or English. */
    languageFallback: boolean('language_fallback').notNull().default(false),
    status: deliveryStatus('status').notNull().default('pending'),
    providerMessageId: text('provider_message_id'),
    /** Why a delivery failed or was suppressed: a stable code, never PHI. */
    reason: text('reason'),
    attempts: integer('attempts').notNull().default(0),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex('deliveries_idempotency_key').on(table.idempotencyKey),
    index('deliveries_patient_idx').on(table.clinicId, table.patientId),
    index('deliveries_address_idx').on(table.clinicId, table.addressIndex),
    check(
      'deliveries_completed_has_time',
      sql`(${table.status} = 'pending') = (${table.completedAt} is null)`,
    ),
  ],
);

/**
 * A delivery's status history from provider callbacks. Not written yet: the patient-side issue (14) records
 * Twilio status callbacks and bounces here.
 */
export const deliveryEvents = pgTable(
  'delivery_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clinicId: clinicRef(),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => deliveries.id),
    status: deliveryStatus('status').notNull(),
    providerStatus: text('provider_status'),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('delivery_events_delivery_idx').on(table.deliveryId)],
);

/**
 * Addresses that must not be used, whatever a journey says (carrier STOP, hard bounce). Not read yet: the
 * send-path issue (10) checks it on every send, the patient-side issue (14) fills it.
 */
export const suppressions = pgTable(
  'suppressions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clinicId: clinicRef(),
    channel: channel('channel').notNull(),
    addressIndex: text('address_index').notNull(),
    reason: text('reason').notNull(),
    createdAt: createdAt(),
  },
  (table) => [uniqueIndex('suppressions_address').on(table.clinicId, table.channel, table.addressIndex)],
);

/** Append-only and hash-chained; rows are written only through the audit_append() function. */
export const auditLog = pgTable('audit_log', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  at: timestamp('at', { withTimezone: true }).notNull(),
  actor: text('actor').notNull(),
  clinicId: uuid('clinic_id'),
  action: text('action').notNull(),
  objectType: text('object_type').notNull(),
  objectId: text('object_id'),
  outcome: text('outcome').notNull(),
  prevHash: text('prev_hash').notNull(),
  hash: text('hash').notNull(),
});

export type Clinic = typeof clinics.$inferSelect;
export type Delivery = typeof deliveries.$inferSelect;
