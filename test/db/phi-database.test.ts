// PHI in PostgreSQL: nothing readable in raw columns, clinics walled off by row-level security on every
// table that holds patient data, every access in the hash-chained audit log, and key rotation.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { appendAudit, verifyAuditChain } from '../../db/queries/audit';
import { claimDelivery } from '../../db/queries/deliveries';
import { getPatient } from '../../db/queries/patients';
import { recordScreening } from '../../db/queries/screenings';
import { withClinic } from '../../db/tenant';
import { FieldCipher } from '../../security/field-cipher';
import { buildKeyRing } from '../../security/key-ring';
import { countStale, reencryptAll } from '../../security/reencrypt';
import { createPatient } from '../support/fixtures';
import { createTestDatabase, testCipher, testKeyRing } from '../support/harness';
import { CANARY, canaryForms } from '../support/phi-canary';

describe('PHI in the database', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let clinicA: { clinicId: string; patientId: string };
  let clinicB: { clinicId: string; patientId: string };

  before(async () => {
    database = await createTestDatabase();
    clinicA = await createPatient(database.db, { ...CANARY });
    clinicB = await createPatient(database.db, { phone: '+14155550178' });
    // Something in every other tenant table, for both clinics.
    for (const { clinicId, patientId } of [clinicA, clinicB]) {
      await withClinic(database.db, clinicId, async (tx) => {
        const delivery = await claimDelivery(tx, {
          clinicId,
          patientId,
          idempotencyKey: randomUUID(),
          template: 'reminder',
          dueAt: new Date(),
        });
        await tx.execute(
          sql`insert into delivery_events (clinic_id, delivery_id, status) values (${clinicId}, ${delivery.id}, 'pending')`,
        );
        await tx.execute(
          sql`insert into consents (clinic_id, patient_id, channel, category, granted, source) values (${clinicId}, ${patientId}, 'sms', 'transactional', true, 'test')`,
        );
        await tx.execute(
          sql`insert into journey_definitions (clinic_id, key, version, definition) values (${clinicId}, 'refill', 1, '{}')`,
        );
        await tx.execute(
          sql`insert into enrollments (clinic_id, patient_id, journey_key, journey_version, category, episode, workflow_id) values (${clinicId}, ${patientId}, 'refill', 1, 'transactional', 'e1', ${randomUUID()})`,
        );
        await recordScreening(tx, testCipher, 'test', clinicId, patientId, {
          test: 'mammogram',
          performedOn: CANARY.dateOfBirth,
        });
        await tx.execute(
          sql`insert into suppressions (clinic_id, channel, address_index, reason) values (${clinicId}, 'sms', ${randomUUID()}, 'carrier-stop')`,
        );
        await tx.execute(
          sql`insert into processed_events (clinic_id, event_index) values (${clinicId}, ${randomUUID()})`,
        );
        await tx.execute(
          sql`insert into api_keys (clinic_id, name, prefix, key_hash, scopes) values (${clinicId}, 'k', ${randomUUID().slice(0, 8)}, 'hash', '{events:write}')`,
        );
        await tx.execute(
          sql`insert into idempotent_requests (clinic_id, key_hash, route, body_hash, status_code, response) values (${clinicId}, ${randomUUID()}, 'POST /v1/events', 'b', 200, '{}')`,
        );
        await tx.execute(
          sql`insert into import_jobs (id, clinic_id, kind, content_hash, created_by) values (${randomUUID()}, ${clinicId}, 'patients-csv', ${randomUUID()}, 'test')`,
        );
        await tx.execute(
          sql`insert into journey_activations (clinic_id, key, active) values (${clinicId}, 'refill', false)`,
        );
        await tx.execute(
          sql`insert into delivery_contents (id, clinic_id, template, template_version, language, rendered_enc, retain_until) values (${delivery.id}, ${clinicId}, 'reminder', 'v', 'en', ${testCipher.encrypt('{}', { clinicId, table: 'delivery_contents', column: 'rendered_enc', rowId: delivery.id })}, now())`,
        );
        await tx.execute(
          sql`insert into message_links (clinic_id, delivery_id, purpose, token_hash, expires_at) values (${clinicId}, ${delivery.id}, 'pickup', ${randomUUID()}, now())`,
        );
        const inboundId = randomUUID();
        const body = testCipher.encrypt('ok', {
          clinicId,
          table: 'inbound_messages',
          column: 'body_enc',
          rowId: inboundId,
        });
        await tx.execute(
          sql`insert into inbound_messages (id, clinic_id, provider_message_id, from_index, body_enc, intent) values (${inboundId}, ${clinicId}, ${randomUUID()}, 'i', ${body}, 'other')`,
        );
      });
    }
  });
  after(() => database?.close());

  it('stores no readable PHI: a raw SELECT of every table shows none of it', async () => {
    const tables = await database.owner.db.execute<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
    );
    for (const { table_name } of tables) {
      const rows = await database.owner.db.execute(sql`select * from ${sql.identifier(table_name)}`);
      const dump = JSON.stringify(rows);
      for (const form of canaryForms) assert.ok(!dump.includes(form), `${form} found in ${table_name}`);
    }
    const patient = await withClinic(database.db, clinicA.clinicId, (tx) =>
      getPatient(tx, testCipher, 'test', clinicA.clinicId, clinicA.patientId),
    );
    assert.equal(patient?.name, CANARY.name, 'yet it reads back through the query layer');
    assert.equal(patient?.dateOfBirth, CANARY.dateOfBirth);
    assert.deepEqual(
      patient?.contacts.map((contact) => contact.address),
      [CANARY.phone, CANARY.email],
    );
  });

  it('puts every table with a clinic_id under row-level security', async () => {
    const tenantTables = await database.owner.db.execute<{ table_name: string; rls: boolean }>(sql`
      select c.table_name, k.relrowsecurity as rls
      from information_schema.columns c join pg_class k on k.relname = c.table_name
      where c.table_schema = 'public' and c.column_name = 'clinic_id'`);
    assert.ok(tenantTables.length >= 11);
    for (const { table_name, rls } of tenantTables) assert.ok(rls, `${table_name} has no row-level security`);

    for (const { table_name } of [...tenantTables, { table_name: 'clinics' }]) {
      const column = table_name === 'clinics' ? 'id' : 'clinic_id';
      const table = sql.identifier(table_name);
      const total = await database.owner.db.execute<{ n: string }>(sql`select count(*) as n from ${table}`);
      assert.ok(Number(total[0]!.n) > 0, `${table_name} has rows to hide`);
      const unscoped = await database.db.execute<{ n: string }>(sql`select count(*) as n from ${table}`);
      assert.equal(Number(unscoped[0]!.n), 0, `${table_name}: a query without a clinic sees nothing`);
      const scoped = await withClinic(database.db, clinicA.clinicId, (tx) =>
        tx.execute<{ other: string }>(
          sql`select count(*) filter (where ${sql.identifier(column)} <> ${clinicA.clinicId}) as other from ${table}`,
        ),
      );
      assert.equal(Number(scoped[0]!.other), 0, `${table_name}: clinic A sees only its own rows`);
    }
  });

  it('returns nothing for a cross-clinic read and refuses a cross-clinic write', async () => {
    const crossRead = await withClinic(database.db, clinicA.clinicId, (tx) =>
      getPatient(tx, testCipher, 'test', clinicB.clinicId, clinicB.patientId),
    );
    assert.equal(crossRead, undefined);
    await assert.rejects(
      withClinic(database.db, clinicA.clinicId, (tx) =>
        claimDelivery(tx, {
          clinicId: clinicB.clinicId,
          patientId: clinicB.patientId,
          idempotencyKey: randomUUID(),
          template: 'x',
          dueAt: new Date(),
        }),
      ),
      causedBy(/new row violates row-level security/),
    );
  });

  it('audits every PHI access in a chain that verifies, and detects a single edited row', async () => {
    const rows = await database.owner.db.execute<{ action: string; clinic_id: string }>(
      sql`select action, clinic_id from audit_log order by id`,
    );
    const actions = rows.filter((row) => row.clinic_id === clinicA.clinicId).map((row) => row.action);
    assert.ok(actions.includes('patient.create'));
    assert.ok(actions.includes('patient.read'));
    assert.equal((await verifyAuditChain(database.owner.db)).broken, undefined);

    await assert.rejects(
      database.db.execute(sql`update audit_log set outcome = 'success'`),
      causedBy(/permission denied/),
    );
    await assert.rejects(database.owner.db.execute(sql`delete from audit_log`), causedBy(/append-only/));
    await assert.rejects(database.owner.db.execute(sql`truncate audit_log`), causedBy(/append-only/));

    // An attacker with the owner's rights switches the guard off and edits one row.
    await appendAudit(database.owner.db, {
      actor: 'test',
      clinicId: null,
      action: 'probe',
      objectType: 'test',
      outcome: 'success',
    });
    const [target] = await database.owner.db.execute<{ id: string }>(
      sql`select id from audit_log order by id limit 1 offset 2`,
    );
    await database.owner.db.transaction(async (tx) => {
      await tx.execute(sql`alter table audit_log disable trigger audit_log_append_only`);
      await tx.execute(sql`update audit_log set outcome = 'denied' where id = ${target!.id}`);
      await tx.execute(sql`alter table audit_log enable trigger audit_log_append_only`);
    });
    const report = await verifyAuditChain(database.owner.db);
    assert.equal(report.broken?.id, Number(target!.id));
    assert.equal(report.rows, 2, 'the rows before it verified');
  });

  it('re-encrypts every value under a new key, resumably, and reads them back', async () => {
    const rotated = new FieldCipher(
      buildKeyRing(
        [...[...testKeyRing.keys].map(([id, key]) => ({ id, key })), { id: 'next', key: randomBytes(32) }],
        testKeyRing.blindIndexKey,
      ),
    );
    const stale = await countStale(database.owner.db, rotated);
    assert.ok(stale >= 8, `${stale} values to rotate`);
    // Interrupted after the first batch of one...
    const progress: number[] = [];
    await assert.rejects(
      reencryptAll(
        database.owner.db,
        rotated,
        ({ done }) => {
          progress.push(done);
          throw new Error('interrupted');
        },
        1,
      ),
    );
    assert.equal(await countStale(database.owner.db, rotated), stale - 1);
    // ...and resumed.
    const report = await reencryptAll(database.owner.db, rotated, () => {});
    assert.equal(report.total, stale - 1);
    assert.equal(await countStale(database.owner.db, rotated), 0);
    const patient = await withClinic(database.db, clinicA.clinicId, (tx) =>
      getPatient(tx, rotated, 'test', clinicA.clinicId, clinicA.patientId),
    );
    assert.equal(patient?.name, CANARY.name);
    const [raw] = await database.owner.db.execute<{ name_enc: string }>(
      sql`select name_enc from patients where id = ${clinicA.patientId}`,
    );
    assert.match(raw!.name_enc, /^v1:next:/);
  });
});

/** drizzle wraps driver errors: match the database's own message in the cause. */
function causedBy(pattern: RegExp) {
  return (error: unknown) => {
    const cause = (error as { cause?: { message?: string } }).cause;
    assert.match(cause?.message ?? String(error), pattern);
    return true;
  };
}
