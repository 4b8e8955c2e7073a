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
  /** ISO 3166 region phone numbers written without a country code are read in ("555-807-7943" in US). */
  phoneRegion: text('phone_region').notNull().default('US'),
  /** Local times HH:MM; sends outside the window wait for its next opening. */
  quietHoursEnd: text('quiet_hours_end').notNull().default('08:00'),
  quietHoursStart: text('quiet_hours_start').notNull().default('21:00'),
  maxPerDay: integer('max_per_day').notNull().default(1),
  maxPerWeek: integer('max_per_week').notNull().default(3),
  /** E.164 number the clinic texts from; inbound replies to it are the clinic's. */
  smsSender: text('sms_sender'),
  emailSender: text('email_sender'),
  /** Marketing mail may leave from another address (and reputation) than care messages. */
  marketingEmailSender: text('marketing_email_sender'),
  /** The clinic's colour in HTML email and pages, #RRGGBB. */
  brandColor: text('brand_color'),
  /** How long what was sent is kept (the message archive); HIPAA's floor is 6 years, clinics often keep 7. */
  retentionDays: integer('retention_days').notNull().default(2557),
  /** journeys/clinic-settings.ts: open-enrollment dates, when a patient is lapsed. Never PHI. */
  settings: jsonb('settings').notNull().default({}),
  createdAt: createdAt(),
});

/** Per-clinic API keys: the key is shown once and stored only as a hash (api/api-keys.ts). */
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
    /** Why it ended, in the journey's words (`patient-cancelled`, `rescheduled`, the goal event, an exit's reason). */
    endReason: text('end_reason'),
    /** The next send the journey plans, so marketing sends give way to a transactional one that day. */
    nextSendAt: timestamp('next_send_at', { withTimezone: true }),
    /**
     * What the EHR event said that must not travel by SMS or plain email (the medication, the test, the
     * appointment's place), encrypted; each delivery of the journey copies it for the pickup page.
     */
    detailsEnc: text('details_enc'),
    /** The A/B variant of each step that has variants, by step id (fixed per patient, so known at start). */
    variants: jsonb('variants').$type<Record<string, string>>(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('enrollments_workflow').on(table.workflowId),
    index('enrollments_started_idx').on(table.clinicId, table.startedAt),
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
    /** The journey and enrollment (workflow) the send belongs to, and its A/B variant: for reports. */
    journeyKey: text('journey_key'),
    workflowId: text('workflow_id'),
    variant: text('variant'),
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
    /**
     * What the send needs to run again on another channel after the provider reports it undelivered: the
     * step's channel order and the template's values (JSON, encrypted).
     */
    requestEnc: text('request_enc'),
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
    index('deliveries_due_idx').on(table.clinicId, table.dueAt),
    index('deliveries_workflow_idx').on(table.clinicId, table.workflowId),
    check(
      'deliveries_completed_has_time',
      sql`(${table.status} = 'pending') = (${table.completedAt} is null)`,
    ),
  ],
);

/** A delivery's status history from provider callbacks (Twilio status callbacks, bounces), one row per status. */
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
    /** The provider's error code (Twilio's ErrorCode, an SMTP reply code), never message content. */
    providerError: text('provider_error'),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('delivery_events_delivery_idx').on(table.deliveryId),
    uniqueIndex('delivery_events_once').on(table.deliveryId, table.providerStatus),
  ],
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

/**
 * A clinic's choice to run a journey or not; no row means the journey runs (built-in journeys start
 * active, as before this table existed).
 */
export const journeyActivations = pgTable(
  'journey_activations',
  {
    clinicId: clinicRef(),
    key: text('key').notNull(),
    active: boolean('active').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.clinicId, table.key] })],
);

/**
 * API requests made with an Idempotency-Key: the same key and body get the first answer again, the same key
 * with another body is refused. The key is stored hashed (an integrator may put anything in it).
 */
export const idempotentRequests = pgTable(
  'idempotent_requests',
  {
    clinicId: clinicRef(),
    keyHash: text('key_hash').notNull(),
    route: text('route').notNull(),
    bodyHash: text('body_hash').notNull(),
    statusCode: integer('status_code').notNull(),
    /** The answer given; carebell's answers carry ids and outcomes, never PHI. */
    response: jsonb('response').notNull(),
    createdAt: createdAt(),
  },
  (table) => [primaryKey({ columns: [table.clinicId, table.keyHash] })],
);

export const IMPORT_KINDS = ['patients-csv', 'fhir-bundle'] as const;
export const IMPORT_STATUSES = ['queued', 'running', 'done', 'failed'] as const;

/**
 * A bulk import (a CSV of patients, a FHIR bundle), processed in the background by a workflow. The upload is
 * kept encrypted until processed; the same file uploaded again finds the same job (content hash).
 */
export const importJobs = pgTable(
  'import_jobs',
  {
    id: uuid('id').primaryKey(),
    clinicId: clinicRef(),
    kind: text('kind', { enum: IMPORT_KINDS }).notNull(),
    /** Keyed hash of the upload's bytes. */
    contentHash: text('content_hash').notNull(),
    /** The upload, encrypted; cleared once the job is done. */
    contentEnc: text('content_enc'),
    status: text('status', { enum: IMPORT_STATUSES }).notNull().default('queued'),
    total: integer('total'),
    processed: integer('processed').notNull().default(0),
    succeeded: integer('succeeded').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    skipped: integer('skipped').notNull().default(0),
    /** Per entry or row: { index|line, outcome, status, problem?, id? }. Problems never quote values. */
    results: jsonb('results').$type<unknown[]>().notNull().default([]),
    /** Unused resource types of a FHIR bundle, with counts. */
    skippedTypes: jsonb('skipped_types').$type<Record<string, number>>().notNull().default({}),
    error: text('error'),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (table) => [uniqueIndex('import_jobs_content').on(table.clinicId, table.kind, table.contentHash)],
);

/**
 * What exactly was sent (the message archive), and the details only the pickup page shows: one row per
 * delivery, both encrypted, kept until `retainUntil` and then purged by a scheduled, audited job.
 */
export const deliveryContents = pgTable(
  'delivery_contents',
  {
    /** The delivery's id. */
    id: uuid('id')
      .primaryKey()
      .references(() => deliveries.id, { onDelete: 'cascade' }),
    clinicId: clinicRef(),
    /** The template and the version of its text (a hash of the catalogue entry) the message was rendered from. */
    template: text('template').notNull(),
    templateVersion: text('template_version').notNull(),
    language: text('language').notNull(),
    /** JSON { sms } or { subject, text, html }, encrypted. */
    renderedEnc: text('rendered_enc').notNull(),
    /** JSON of the event's details that must not travel by SMS or plain email, shown only on the pickup page. */
    detailsEnc: text('details_enc'),
    retainUntil: timestamp('retain_until', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (table) => [index('delivery_contents_retain_idx').on(table.retainUntil)],
);

export const LINK_PURPOSES = ['pickup', 'unsubscribe'] as const;

/**
 * Single-purpose links a message carries: the pickup page and (marketing email) one-click unsubscribe. The
 * token is random and stored only as a hash; it expires, and a pickup link locks after too many wrong dates
 * of birth.
 */
export const messageLinks = pgTable(
  'message_links',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clinicId: clinicRef(),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => deliveries.id, { onDelete: 'cascade' }),
    purpose: text('purpose', { enum: LINK_PURPOSES }).notNull(),
    tokenHash: text('token_hash').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    failedAttempts: integer('failed_attempts').notNull().default(0),
    lockedAt: timestamp('locked_at', { withTimezone: true }),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex('message_links_token').on(table.tokenHash),
    uniqueIndex('message_links_delivery_purpose').on(table.deliveryId, table.purpose),
  ],
);

/** SMS replies from patients (STOP, HELP, CONFIRM, free text), kept encrypted; staff see flagged ones. */
export const inboundMessages = pgTable(
  'inbound_messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clinicId: clinicRef(),
    patientId: uuid('patient_id').references(() => patients.id),
    /** Twilio's MessageSid: a webhook delivered twice is acted on once. */
    providerMessageId: text('provider_message_id').notNull(),
    fromIndex: text('from_index').notNull(),
    bodyEnc: text('body_enc').notNull(),
    /** What carebell understood: stop, start, help, confirm, cancel, done, other. */
    intent: text('intent').notNull(),
    /** A reply that reads as a wish to stop in other words: for the clinic's staff to look at. */
    flagged: boolean('flagged').notNull().default(false),
    /** The journey a CONFIRM or CANCEL APPT was passed to, so the EHR reads the answer back by enrollment. */
    enrollmentId: uuid('enrollment_id').references(() => enrollments.id),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('inbound_messages_provider_id').on(table.clinicId, table.providerMessageId),
    index('inbound_messages_patient_idx').on(table.clinicId, table.patientId),
    index('inbound_messages_enrollment_idx').on(table.clinicId, table.enrollmentId),
  ],
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
