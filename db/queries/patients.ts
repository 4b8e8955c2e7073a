// The only code that reads or writes patient PHI: values are encrypted and decrypted here, lookups go
// through blind indexes, and every access is written to the audit log in the same transaction.
import { randomUUID } from 'node:crypto';
import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import { DecryptionError, type FieldCipher } from '../../security/field-cipher';
import type { Channel, PatientStatus } from '../../domain/messaging';
import { channelPreferences, contactPoints, patients } from '../schema';
import { CarebellError } from '../../domain/errors';
import { normaliseSexAtBirth } from '../../domain/patient';
import { careFacts, type CareFacts } from '../../journeys/care';
import { assertTimeZone } from '../../rules/time';
import type { Queryable } from '../tenant';
import { appendAudit, appendAudits, type AuditEntry } from './audit';
import { decryptCare } from './care';

export interface PatientProfile {
  name: string;
  dateOfBirth: string;
  language: string;
  timeZone: string;
  preferredChannel: Channel;
  sexAtBirth?: string;
  postalAddress?: string;
  externalId?: string;
  /** What sweeps select on: last visit, appointments, coverage. */
  care?: CareFacts;
  status?: PatientStatus;
}

export interface Contact {
  channel: Channel;
  address: string;
}

export interface PatientRecord extends PatientProfile {
  id: string;
  clinicId: string;
  status: 'active' | 'inactive' | 'deceased';
  contacts: (Contact & { id: string; verified: boolean; rank: number; addressIndex: string })[];
}

/** Normalises an address the way its blind index expects (numbers arrive in E.164 already). */
function normaliseAddress(channel: Channel, address: string): string {
  return channel === 'email' ? address.trim().toLowerCase() : address.trim();
}

const kindOf = (channel: Channel) => (channel === 'sms' ? 'phone' : 'email');

export async function insertPatient(
  db: Queryable,
  cipher: FieldCipher,
  actor: string,
  clinicId: string,
  profile: PatientProfile,
  contacts: Contact[],
): Promise<string> {
  assertTimeZone('timeZone', profile.timeZone);
  const sexAtBirth = profile.sexAtBirth === undefined ? undefined : normaliseSexAtBirth(profile.sexAtBirth);
  if (profile.sexAtBirth !== undefined && sexAtBirth === undefined)
    throw new CarebellError('InvalidInput', 'sexAtBirth: must be female, male or unknown (F, M, U)');
  const id = randomUUID();
  const field = (column: string, value: string) =>
    cipher.encrypt(value, { clinicId, table: 'patients', column, rowId: id });
  const optional = (column: string, value: string | undefined) =>
    value === undefined ? null : field(column, value);
  await db.insert(patients).values({
    id,
    clinicId,
    nameEnc: field('name_enc', profile.name),
    dateOfBirthEnc: field('date_of_birth_enc', profile.dateOfBirth),
    sexAtBirthEnc: optional('sex_at_birth_enc', sexAtBirth),
    postalAddressEnc: optional('postal_address_enc', profile.postalAddress),
    careEnc: optional('care_enc', profile.care && JSON.stringify(careFacts.parse(profile.care))),
    externalIdEnc: optional('external_id_enc', profile.externalId),
    externalIdIndex:
      profile.externalId === undefined
        ? null
        : cipher.blindIndex('external-id', clinicId, profile.externalId),
    language: profile.language,
    timeZone: profile.timeZone,
    status: profile.status,
  });
  await db
    .insert(channelPreferences)
    .values({ patientId: id, clinicId, preferredChannel: profile.preferredChannel });
  await insertContacts(db, cipher, clinicId, id, contacts);
  await auditPatient(db, actor, clinicId, 'patient.create', id, 'success');
  return id;
}

async function insertContacts(
  db: Queryable,
  cipher: FieldCipher,
  clinicId: string,
  patientId: string,
  contacts: Contact[],
): Promise<void> {
  if (contacts.length === 0) return;
  await db.insert(contactPoints).values(
    contacts.map((contact, rank) => {
      const id = randomUUID();
      const address = normaliseAddress(contact.channel, contact.address);
      return {
        id,
        clinicId,
        patientId,
        channel: contact.channel,
        rank,
        addressEnc: cipher.encrypt(address, {
          clinicId,
          table: 'contact_points',
          column: 'address_enc',
          rowId: id,
        }),
        addressIndex: cipher.blindIndex(kindOf(contact.channel), clinicId, address),
      };
    }),
  );
}

/**
 * Replaces what is known of a patient (the external id stays): profile, preference, status and contact
 * points, in the order given. Returns whether anything a running journey reads changed (language, zone,
 * channel, status, contacts), so the caller can tell the journeys.
 */
export async function updatePatient(
  db: Queryable,
  cipher: FieldCipher,
  actor: string,
  clinicId: string,
  patientId: string,
  profile: Omit<PatientProfile, 'externalId' | 'care'>,
  contacts: Contact[],
): Promise<{ preferencesChanged: boolean }> {
  assertTimeZone('timeZone', profile.timeZone);
  const before = await getPatientSettings(db, clinicId, patientId);
  if (!before) throw new CarebellError('PatientNotFound');
  const field = (column: string, value: string) =>
    cipher.encrypt(value, { clinicId, table: 'patients', column, rowId: patientId });
  const sexAtBirth = profile.sexAtBirth === undefined ? undefined : normaliseSexAtBirth(profile.sexAtBirth);
  await db
    .update(patients)
    .set({
      nameEnc: field('name_enc', profile.name),
      dateOfBirthEnc: field('date_of_birth_enc', profile.dateOfBirth),
      sexAtBirthEnc: sexAtBirth === undefined ? null : field('sex_at_birth_enc', sexAtBirth),
      postalAddressEnc:
        profile.postalAddress === undefined ? null : field('postal_address_enc', profile.postalAddress),
      language: profile.language,
      timeZone: profile.timeZone,
      status: profile.status ?? before.status,
    })
    .where(and(eq(patients.clinicId, clinicId), eq(patients.id, patientId)));
  await db
    .update(channelPreferences)
    .set({ preferredChannel: profile.preferredChannel, updatedAt: new Date() })
    .where(and(eq(channelPreferences.clinicId, clinicId), eq(channelPreferences.patientId, patientId)));
  const current = await db
    .select({ channel: contactPoints.channel, addressIndex: contactPoints.addressIndex })
    .from(contactPoints)
    .where(and(eq(contactPoints.clinicId, clinicId), eq(contactPoints.patientId, patientId)))
    .orderBy(asc(contactPoints.rank));
  const wanted = contacts.map((contact) => ({
    channel: contact.channel,
    addressIndex: cipher.blindIndex(
      kindOf(contact.channel),
      clinicId,
      normaliseAddress(contact.channel, contact.address),
    ),
  }));
  const contactsChanged = JSON.stringify(current) !== JSON.stringify(wanted);
  if (contactsChanged) {
    await db
      .delete(contactPoints)
      .where(and(eq(contactPoints.clinicId, clinicId), eq(contactPoints.patientId, patientId)));
    await insertContacts(db, cipher, clinicId, patientId, contacts);
  }
  await auditPatient(db, actor, clinicId, 'patient.update', patientId, 'success');
  return {
    preferencesChanged:
      contactsChanged ||
      before.language !== profile.language ||
      before.timeZone !== profile.timeZone ||
      before.preferredChannel !== profile.preferredChannel ||
      (profile.status !== undefined && before.status !== profile.status),
  };
}

export async function findPatientIdByContact(
  db: Queryable,
  cipher: FieldCipher,
  actor: string,
  clinicId: string,
  contact: Contact,
): Promise<string | undefined> {
  const index = cipher.blindIndex(
    kindOf(contact.channel),
    clinicId,
    normaliseAddress(contact.channel, contact.address),
  );
  const [row] = await db
    .select({ patientId: contactPoints.patientId })
    .from(contactPoints)
    .where(
      and(
        eq(contactPoints.clinicId, clinicId),
        eq(contactPoints.channel, contact.channel),
        eq(contactPoints.addressIndex, index),
      ),
    )
    .limit(1);
  await auditLookup(db, actor, clinicId, `contact-${kindOf(contact.channel)}`, row?.patientId);
  return row?.patientId;
}

export async function findPatientIdByExternalId(
  db: Queryable,
  cipher: FieldCipher,
  actor: string,
  clinicId: string,
  externalId: string,
): Promise<string | undefined> {
  const { id, audit } = await findPatientIdByExternalIdAuditLater(db, cipher, actor, clinicId, externalId);
  await appendAudit(db, audit);
  return id;
}

/**
 * The same look-up, with its audit entry handed back instead of appended: the caller appends it in the
 * same transaction, as its last statement, so the audit chain's lock is held only until the commit and
 * not across the caller's other statements.
 */
export async function findPatientIdByExternalIdAuditLater(
  db: Queryable,
  cipher: FieldCipher,
  actor: string,
  clinicId: string,
  externalId: string,
): Promise<{ id: string | undefined; audit: AuditEntry }> {
  const [row] = await db
    .select({ id: patients.id })
    .from(patients)
    .where(
      and(
        eq(patients.clinicId, clinicId),
        eq(patients.externalIdIndex, cipher.blindIndex('external-id', clinicId, externalId)),
      ),
    );
  return { id: row?.id, audit: lookupAudit(actor, clinicId, 'external-id', row?.id) };
}

/**
 * Many look-ups by EHR id at once (a bulk import's batch): the patients found, by EHR id, each look-up
 * audited as `findPatientIdByExternalId` audits it, in one statement. An id not found is left out and
 * not audited: the caller looks it up again on its own (audited there), as it may be created later in
 * the same import.
 */
export async function findExistingPatientIdsByExternalId(
  db: Queryable,
  cipher: FieldCipher,
  actor: string,
  clinicId: string,
  /** One per look-up (an id asked for twice is audited twice). */
  externalIds: string[],
): Promise<Map<string, string>> {
  if (externalIds.length === 0) return new Map();
  const byIndex = new Map(
    externalIds.map((externalId) => [cipher.blindIndex('external-id', clinicId, externalId), externalId]),
  );
  const rows = await db
    .select({ id: patients.id, externalIdIndex: patients.externalIdIndex })
    .from(patients)
    .where(and(eq(patients.clinicId, clinicId), inArray(patients.externalIdIndex, [...byIndex.keys()])));
  const found = new Map(rows.map((row) => [byIndex.get(row.externalIdIndex!)!, row.id]));
  await appendAudits(
    db,
    externalIds.flatMap((externalId) => {
      const id = found.get(externalId);
      return id ? [lookupAudit(actor, clinicId, 'external-id', id)] : [];
    }),
  );
  return found;
}

const lookupAudit = (
  actor: string,
  clinicId: string,
  by: string,
  patientId: string | undefined,
): AuditEntry => ({
  actor,
  clinicId,
  action: `patient.lookup-by-${by}`,
  objectType: 'patient',
  objectId: patientId ?? null,
  outcome: patientId ? 'success' : 'failure',
});

/**
 * A look-up by an identifier (EHR id, phone, email) links it to a patient: audited with what it was by
 * (never the value) and the patient found, or a failure when none was.
 */
function auditLookup(
  db: Queryable,
  actor: string,
  clinicId: string,
  by: string,
  patientId: string | undefined,
): Promise<void> {
  return appendAudit(db, lookupAudit(actor, clinicId, by, patientId));
}

export interface SweepCandidate {
  id: string;
  dateOfBirth: string;
  sexAtBirth?: string;
  care: CareFacts;
}

export interface SweepPage {
  patients: SweepCandidate[];
  /** Patients whose values cannot be decrypted (tampered, or a key missing from the ring): ids only. */
  unreadable: string[];
  /** The last patient id of the page, readable or not, where the next page starts. */
  last: string | null;
}

/**
 * One page of a clinic's active patients in id order, after `afterId`, with what sweeps select on. The
 * read is audited once for the page, naming its first and last patient; a patient whose values cannot be
 * decrypted is left out, reported, and audited as a failed read, so one bad record stops nobody else.
 */
export async function activePatientsPage(
  db: Queryable,
  cipher: FieldCipher,
  actor: string,
  clinicId: string,
  afterId: string | null,
  limit: number,
): Promise<SweepPage> {
  const rows = await db
    .select({
      id: patients.id,
      dateOfBirthEnc: patients.dateOfBirthEnc,
      sexAtBirthEnc: patients.sexAtBirthEnc,
      careEnc: patients.careEnc,
    })
    .from(patients)
    .where(
      and(
        eq(patients.clinicId, clinicId),
        eq(patients.status, 'active'),
        afterId === null ? undefined : gt(patients.id, afterId),
      ),
    )
    .orderBy(asc(patients.id))
    .limit(limit);
  if (rows.length === 0) return { patients: [], unreadable: [], last: null };
  await appendAudit(db, {
    actor,
    clinicId,
    action: 'patient.read',
    objectType: 'patient-page',
    objectId: `${rows[0]!.id}..${rows[rows.length - 1]!.id}`,
    outcome: 'success',
  });
  const field = (rowId: string, column: string, value: string) =>
    cipher.decrypt(value, { clinicId, table: 'patients', column, rowId });
  const page: SweepPage = { patients: [], unreadable: [], last: rows[rows.length - 1]!.id };
  for (const row of rows) {
    try {
      page.patients.push({
        id: row.id,
        dateOfBirth: field(row.id, 'date_of_birth_enc', row.dateOfBirthEnc),
        sexAtBirth:
          row.sexAtBirthEnc === null ? undefined : field(row.id, 'sex_at_birth_enc', row.sexAtBirthEnc),
        care: decryptCare(cipher, clinicId, row.id, row.careEnc),
      });
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error;
      page.unreadable.push(row.id);
      await auditPatient(db, actor, clinicId, 'patient.read', row.id, 'failure');
    }
  }
  return page;
}

export async function getPatient(
  db: Queryable,
  cipher: FieldCipher,
  actor: string,
  clinicId: string,
  patientId: string,
): Promise<PatientRecord | undefined> {
  const patient = await readPatient(db, cipher, clinicId, patientId);
  await auditPatient(db, actor, clinicId, 'patient.read', patientId, patient ? 'success' : 'failure');
  return patient;
}

/**
 * The patient and its contacts, decrypted, with no audit row: for a caller that appends the read's
 * `patientAudit` itself, later in the same transaction (the send path appends its rows last, so the audit
 * chain's lock is held for the commit only). Both reads go out together.
 */
export async function readPatient(
  db: Queryable,
  cipher: FieldCipher,
  clinicId: string,
  patientId: string,
): Promise<PatientRecord | undefined> {
  const [[row], contacts] = await Promise.all([
    db
      .select({ patient: patients, preferredChannel: channelPreferences.preferredChannel })
      .from(patients)
      .innerJoin(channelPreferences, eq(channelPreferences.patientId, patients.id))
      .where(and(eq(patients.clinicId, clinicId), eq(patients.id, patientId))),
    db
      .select()
      .from(contactPoints)
      .where(and(eq(contactPoints.clinicId, clinicId), eq(contactPoints.patientId, patientId)))
      .orderBy(asc(contactPoints.rank)),
  ]);
  if (!row) return undefined;
  const { patient } = row;
  const field = (column: string, value: string) =>
    cipher.decrypt(value, { clinicId, table: 'patients', column, rowId: patientId });
  const optional = (column: string, value: string | null) =>
    value === null ? undefined : field(column, value);
  return {
    id: patient.id,
    clinicId,
    status: patient.status,
    name: field('name_enc', patient.nameEnc),
    dateOfBirth: field('date_of_birth_enc', patient.dateOfBirthEnc),
    sexAtBirth: optional('sex_at_birth_enc', patient.sexAtBirthEnc),
    postalAddress: optional('postal_address_enc', patient.postalAddressEnc),
    externalId: optional('external_id_enc', patient.externalIdEnc),
    language: patient.language,
    timeZone: patient.timeZone,
    preferredChannel: row.preferredChannel,
    contacts: contacts.map((contact) => ({
      id: contact.id,
      channel: contact.channel,
      verified: contact.verified,
      rank: contact.rank,
      addressIndex: contact.addressIndex,
      address: cipher.decrypt(contact.addressEnc, {
        clinicId,
        table: 'contact_points',
        column: 'address_enc',
        rowId: contact.id,
      }),
    })),
  };
}

/** Only the date of birth (the pickup page's check), audited as a read of the patient. */
export async function getPatientDateOfBirth(
  db: Queryable,
  cipher: FieldCipher,
  actor: string,
  clinicId: string,
  patientId: string,
): Promise<string | undefined> {
  const [row] = await db
    .select({ dateOfBirthEnc: patients.dateOfBirthEnc })
    .from(patients)
    .where(and(eq(patients.clinicId, clinicId), eq(patients.id, patientId)));
  await auditPatient(db, actor, clinicId, 'patient.read', patientId, row ? 'success' : 'failure');
  return (
    row &&
    cipher.decrypt(row.dateOfBirthEnc, {
      clinicId,
      table: 'patients',
      column: 'date_of_birth_enc',
      rowId: patientId,
    })
  );
}

/** The non-identifying settings a schedule needs; no PHI, so no decryption and no audit entry. */
export async function getPatientSettings(
  db: Queryable,
  clinicId: string,
  patientId: string,
): Promise<
  | { timeZone: string; language: string; preferredChannel: Channel; status: PatientRecord['status'] }
  | undefined
> {
  const [row] = await db
    .select({
      status: patients.status,
      timeZone: patients.timeZone,
      language: patients.language,
      preferredChannel: channelPreferences.preferredChannel,
    })
    .from(patients)
    .innerJoin(channelPreferences, eq(channelPreferences.patientId, patients.id))
    .where(and(eq(patients.clinicId, clinicId), eq(patients.id, patientId)));
  return row;
}

/** The audit row of one access to a patient. */
export function patientAudit(
  actor: string,
  clinicId: string,
  action: `patient.${'create' | 'read' | 'update'}`,
  patientId: string,
  outcome: AuditEntry['outcome'],
): AuditEntry {
  return { actor, clinicId, action, objectType: 'patient', objectId: patientId, outcome };
}

function auditPatient(db: Queryable, ...entry: Parameters<typeof patientAudit>): Promise<void> {
  return appendAudit(db, patientAudit(...entry));
}

/** Every encrypted column, for key rotation: table, primary key column and ciphertext column. */
export const ENCRYPTED_COLUMNS = [
  { table: 'patients', column: 'name_enc' },
  { table: 'patients', column: 'date_of_birth_enc' },
  { table: 'patients', column: 'sex_at_birth_enc' },
  { table: 'patients', column: 'postal_address_enc' },
  { table: 'patients', column: 'external_id_enc' },
  { table: 'patients', column: 'care_enc' },
  { table: 'contact_points', column: 'address_enc' },
  { table: 'consents', column: 'evidence_enc' },
  { table: 'screening_records', column: 'record_enc' },
  { table: 'import_jobs', column: 'content_enc' },
  { table: 'enrollments', column: 'details_enc' },
  { table: 'delivery_contents', column: 'rendered_enc' },
  { table: 'delivery_contents', column: 'details_enc' },
  { table: 'inbound_messages', column: 'body_enc' },
  { table: 'deliveries', column: 'request_enc' },
] as const;
