import { sql } from 'drizzle-orm';
import {
  check,
  date,
  index,
  integer,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const channel = pgEnum('channel', ['sms', 'email']);
export const deliveryStatus = pgEnum('delivery_status', [
  'pending',
  'sent',
  'delivered',
  'failed',
  'suppressed',
]);

export const clinics = pgTable('clinics', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  timeZone: text('time_zone').notNull(),
  createdAt: createdAt(),
});

export const patients = pgTable(
  'patients',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clinicId: uuid('clinic_id')
      .notNull()
      .references(() => clinics.id),
    name: text('name').notNull(),
    dateOfBirth: date('date_of_birth').notNull(),
    language: text('language').notNull(),
    timeZone: text('time_zone').notNull(),
    preferredChannel: channel('preferred_channel').notNull(),
    createdAt: createdAt(),
  },
  (table) => [index('patients_clinic_idx').on(table.clinicId)],
);

export const contactPoints = pgTable(
  'contact_points',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clinicId: uuid('clinic_id')
      .notNull()
      .references(() => clinics.id),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id, { onDelete: 'cascade' }),
    channel: channel('channel').notNull(),
    /** E.164 for sms, an address for email. */
    address: text('address').notNull(),
    rank: integer('rank').notNull().default(0),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex('contact_points_patient_channel_address').on(table.patientId, table.channel, table.address),
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
    clinicId: uuid('clinic_id')
      .notNull()
      .references(() => clinics.id),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id),
    idempotencyKey: text('idempotency_key').notNull(),
    template: text('template').notNull(),
    channel: channel('channel'),
    language: text('language'),
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
    check(
      'deliveries_completed_has_time',
      sql`(${table.status} = 'pending') = (${table.completedAt} is null)`,
    ),
  ],
);

export type Clinic = typeof clinics.$inferSelect;
export type Patient = typeof patients.$inferSelect;
export type ContactPoint = typeof contactPoints.$inferSelect;
export type Delivery = typeof deliveries.$inferSelect;
export type Channel = (typeof channel.enumValues)[number];
export type DeliveryStatus = (typeof deliveryStatus.enumValues)[number];
