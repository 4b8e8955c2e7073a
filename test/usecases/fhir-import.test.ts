// The FHIR bulk path: a bundle's events are applied many at once across batches, reading the clinic's
// journeys and the patients it names once per batch, and remembering the events it acted on with each
// batch's progress. What that must not change: each patient's entries in order (one created in the same
// bundle is found by the dispense after it), one audit row per look-up, an intact audit chain, a duplicate
// entry acting once, and a batch repeated after a crash changing nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { verifyAuditChain } from '../../db/queries/audit';
import { createImportJob, getImportJob } from '../../db/queries/import-jobs';
import { withClinic } from '../../db/tenant';
import type { EnrollmentDeps } from '../../usecases/enroll';
import { runImport } from '../../usecases/imports';
import { createPatient } from '../support/fixtures';
import { connectTestTemporal, createTestDatabase, testCipher, uniqueTaskQueue } from '../support/harness';

const MRN_SYSTEM = 'urn:oid:2.16.840.1.113883.19.5';
const ACTOR = 'api-key:bulk-test';

/** A prescription and its dispense for one patient: the dispense enrolls the refill journey. */
function medications(mrn: string, today: string, dispenseId = `md-${mrn}`) {
  const subject = { identifier: { system: MRN_SYSTEM, value: mrn } };
  return [
    {
      resource: {
        resourceType: 'MedicationRequest',
        id: `mr-${mrn}`,
        status: 'active',
        intent: 'order',
        subject,
        dosageInstruction: [{ text: 'Take 1 tablet daily' }],
        dispenseRequest: { numberOfRepeatsAllowed: 2 },
      },
      request: { method: 'POST', url: 'MedicationRequest' },
    },
    {
      resource: {
        resourceType: 'MedicationDispense',
        id: dispenseId,
        status: 'completed',
        subject,
        authorizingPrescription: [{ reference: `MedicationRequest/mr-${mrn}` }],
        daysSupply: { value: 30, unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' },
        whenHandedOver: `${today}T10:00:00Z`,
      },
      request: { method: 'POST', url: 'MedicationDispense' },
    },
  ];
}

function patientResource(mrn: string, phone: string) {
  return {
    resource: {
      resourceType: 'Patient',
      identifier: [{ system: MRN_SYSTEM, value: mrn }],
      name: [{ family: 'Rivera', given: ['Ana'] }],
      birthDate: '1970-04-12',
      telecom: [{ system: 'phone', value: phone, use: 'mobile', rank: 1 }],
    },
    request: { method: 'PUT', url: `Patient?identifier=${MRN_SYSTEM}|${mrn}` },
  };
}

describe('FHIR bulk import', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let temporal: Awaited<ReturnType<typeof connectTestTemporal>>;
  let deps: EnrollmentDeps;

  before(async () => {
    [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
    // No worker: the journeys need only be started.
    deps = {
      db: database.db,
      cipher: testCipher,
      client: temporal.client,
      taskQueue: uniqueTaskQueue('bulk'),
    };
  });
  after(async () => {
    await temporal?.close();
    await database?.close();
  });

  /** A clinic of 55 known patients and a bundle creating 3 more, spanning two batches. */
  async function campaign(prefix: string, phones: number) {
    const today = DateTime.utc().toISODate();
    const first = await createPatient(database.db, {
      phone: `+1312555${phones}`,
      externalId: `${prefix}-0`,
    });
    const { clinicId } = first;
    const known = [`${prefix}-0`];
    for (let n = 1; n < 55; n++) {
      const mrn = `${prefix}-${n}`;
      await createPatient(database.db, { clinicId, phone: `+1312555${phones + n}`, externalId: mrn });
      known.push(mrn);
    }
    const created = [`${prefix}-N1`, `${prefix}-N2`, `${prefix}-N3`];
    const entry = [
      ...created.map((mrn, n) => patientResource(mrn, `(415) 555-01${String(10 + n)}`)),
      // One new patient's dispense in the first batch (its look-up finds the patient created just before),
      // the others' in the second, after the known patients'.
      ...medications(created[0]!, today),
      ...known.flatMap((mrn) => medications(mrn, today)),
      ...created.slice(1).flatMap((mrn) => medications(mrn, today)),
      // The same dispense again: acted on once.
      medications(known[0]!, today)[1]!,
    ];
    assert.ok(entry.length > 100, 'spans two batches');
    const content = Buffer.from(JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry }));
    const { job } = await withClinic(database.db, clinicId, (tx) =>
      createImportJob(tx, testCipher, { clinicId, kind: 'fhir-bundle', content, createdBy: ACTOR }),
    );
    const counts = async () => {
      const [row] = await database.owner.db.execute<{
        enrollments: number;
        workflows: number;
        events: number;
      }>(
        sql`select (select count(*)::int from enrollments where clinic_id = ${clinicId}) as enrollments,
                   (select count(distinct workflow_id)::int from enrollments where clinic_id = ${clinicId}) as workflows,
                   (select count(*)::int from processed_events where clinic_id = ${clinicId}) as events`,
      );
      return row!;
    };
    const readJob = () => withClinic(database.db, clinicId, (tx) => getImportJob(tx, clinicId, job.id));
    const patients = known.length + created.length;
    /** The job is done, every entry through, and each patient enrolled once with one workflow. */
    const assertWhole = async () => {
      const done = await readJob();
      assert.equal(done?.status, 'done');
      assert.equal(done?.processed, entry.length);
      assert.equal(done?.failed, 0, JSON.stringify(done?.results));
      assert.deepEqual(await counts(), { enrollments: patients, workflows: patients, events: patients });
    };
    return {
      clinicId,
      job,
      entries: entry.length,
      patients,
      created,
      counts,
      readJob,
      assertWhole,
    };
  }

  it('applies a bundle across batches in order per patient, audits each look-up once, and acts on a duplicate once', async () => {
    const { clinicId, job, patients, created, assertWhole } = await campaign('MRN-B', 1000);

    await runImport(deps, clinicId, job.id);

    await assertWhole();
    const [enrolled] = await database.owner.db.execute<{ workflow_id: string }>(
      sql`select workflow_id from enrollments where clinic_id = ${clinicId} limit 1`,
    );
    const described = await temporal.client.workflow.getHandle(enrolled!.workflow_id).describe();
    assert.equal(described.status.name, 'RUNNING');
    const lookups = await database.owner.db.execute<{ outcome: string; count: number }>(
      sql`select outcome, count(*)::int as count from audit_log
          where clinic_id = ${clinicId} and actor = ${ACTOR} and action = 'patient.lookup-by-external-id'
          group by outcome order by outcome`,
    );
    // One per dispense (the duplicate included), every one found; and the upserts' of the patients they
    // created, not found.
    assert.deepEqual(
      lookups.map((row) => [row.outcome, row.count]),
      [
        ['failure', created.length],
        ['success', patients + 1],
      ],
    );
    assert.equal((await verifyAuditChain(database.owner.db)).broken, undefined);
  });

  it('resumes an import cut short mid-batch (Temporal away) without a second enrollment or workflow', async () => {
    const { clinicId, job, entries, readJob, assertWhole } = await campaign('MRN-C', 2000);
    let starts = 0;
    const { client } = temporal;
    const failing = Object.assign(Object.create(client) as typeof client, {
      workflow: Object.assign(Object.create(client.workflow) as typeof client.workflow, {
        start: (async (...args: Parameters<typeof client.workflow.start>) => {
          if (++starts > 50) throw new Error('Temporal is away');
          return client.workflow.start(...args);
        }) as typeof client.workflow.start,
      }),
    });

    await assert.rejects(runImport({ ...deps, client: failing }, clinicId, job.id), /Temporal is away/);
    const cut = await readJob();
    assert.notEqual(cut?.status, 'done');
    assert.ok((cut?.processed ?? 0) < entries);

    await runImport(deps, clinicId, job.id);
    await assertWhole();
    assert.equal((await verifyAuditChain(database.owner.db)).broken, undefined);
  });
});
