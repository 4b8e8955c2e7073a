// Bench patients by the thousand. insertPatient writes one patient in five statements (and one audit row
// each), which makes 20,000 sleepers a long wait before anything is measured; this writes the same rows,
// with every PHI field encrypted and indexed by the FieldCipher as insertPatient does, 500 patients a
// statement per table. One audit row records each batch.
import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client';
import { appendAudit } from '../db/queries/audit';
import { channelPreferences, contactPoints, patients } from '../db/schema';
import { withClinic } from '../db/tenant';
import type { Channel } from '../domain/messaging';
import type { FieldCipher } from '../security/field-cipher';

const BATCH = 500;

export interface BenchPatient {
  id: string;
  /** The MRN an EHR knows the patient by (FHIR identifier, `patient.ehrId` of an event). */
  externalId: string;
  channel: Channel;
  /** Where the patient's messages go on its preferred channel, as the peer records it. */
  address: string;
  phone: string;
  email: string;
}

/** Unique phone numbers and addresses across a run: per address, one message is right and two are not. */
export class PatientFactory {
  private issued = 0;

  constructor(
    private readonly db: Database,
    private readonly cipher: FieldCipher,
    private readonly clinicId: string,
    private readonly timeZone: string,
    private readonly runTag: string,
  ) {}

  /** `count` active patients with a phone and an email each, preferring SMS and email in turn. */
  async create(count: number): Promise<BenchPatient[]> {
    const created: BenchPatient[] = [];
    for (let start = 0; start < count; start += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, count - start) }, () => this.next());
      await this.insert(batch);
      created.push(...batch);
    }
    return created;
  }

  private next(): BenchPatient {
    const n = this.issued++;
    // 415-200-0000 upwards: valid US numbers (libphonenumber-js, the SMS peer), one per patient.
    const phone = `+1415${String(2_000_000 + n).padStart(7, '0')}`;
    const email = `p${n}.${this.runTag}@bench.example`;
    const channel: Channel = n % 2 === 0 ? 'sms' : 'email';
    return {
      id: randomUUID(),
      externalId: `BENCH-${this.runTag}-${n}`,
      channel,
      address: channel === 'sms' ? phone : email,
      phone,
      email,
    };
  }

  private async insert(batch: BenchPatient[]): Promise<void> {
    const { cipher, clinicId } = this;
    const field = (rowId: string, column: string, value: string) =>
      cipher.encrypt(value, { clinicId, table: 'patients', column, rowId });
    const contact = (patient: BenchPatient, channel: Channel, address: string, rank: number) => {
      const id = randomUUID();
      return {
        id,
        clinicId,
        patientId: patient.id,
        channel,
        rank,
        addressEnc: cipher.encrypt(address, {
          clinicId,
          table: 'contact_points',
          column: 'address_enc',
          rowId: id,
        }),
        addressIndex: cipher.blindIndex(channel === 'sms' ? 'phone' : 'email', clinicId, address),
      };
    };
    await withClinic(this.db, clinicId, async (tx) => {
      await tx.insert(patients).values(
        batch.map((patient, index) => ({
          id: patient.id,
          clinicId,
          nameEnc: field(patient.id, 'name_enc', `Bench Patient ${this.issued - batch.length + index}`),
          dateOfBirthEnc: field(patient.id, 'date_of_birth_enc', '1990-01-01'),
          externalIdEnc: field(patient.id, 'external_id_enc', patient.externalId),
          externalIdIndex: cipher.blindIndex('external-id', clinicId, patient.externalId),
          language: 'en',
          timeZone: this.timeZone,
        })),
      );
      await tx
        .insert(channelPreferences)
        .values(
          batch.map((patient) => ({ patientId: patient.id, clinicId, preferredChannel: patient.channel })),
        );
      await tx.insert(contactPoints).values(
        batch.flatMap((patient) => {
          const phone = contact(patient, 'sms', patient.phone, patient.channel === 'sms' ? 0 : 1);
          const email = contact(patient, 'email', patient.email, patient.channel === 'email' ? 0 : 1);
          return [phone, email];
        }),
      );
      await appendAudit(tx, {
        actor: 'bench',
        clinicId,
        action: 'patient.create',
        objectType: 'patient-batch',
        objectId: `${batch.length} patients`,
        outcome: 'success',
      });
    });
  }
}
