// The application's login is not the tables' owner: row-level security does not rest on a role switch the
// session could undo. Its role owns nothing, bypasses nothing, creates nothing; row-level security is forced
// on the owner too, and SECURITY DEFINER functions cannot be steered by a caller's temporary objects.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { inArray, sql } from 'drizzle-orm';
import { connectDatabase } from '../../db/client';
import { patients } from '../../db/schema';
import { withClinic } from '../../db/tenant';
import { createPatient } from '../support/fixtures';
import { createTestDatabase } from '../support/harness';

describe('tenancy of the application login', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let patient: Awaited<ReturnType<typeof createPatient>>;

  before(async () => {
    database = await createTestDatabase();
    patient = await createPatient(database.db, { phone: '+14155550811' });
  });
  after(() => database?.close());

  it('logs in as a role that is no superuser, owns nothing and cannot bypass row-level security', async () => {
    const [who] = await database.db.execute<{
      session_user: string;
      current_user: string;
      rolsuper: boolean;
      rolbypassrls: boolean;
      owned: string;
    }>(sql`
      select session_user, current_user, r.rolsuper, r.rolbypassrls,
        (select count(*) from pg_class where relowner = r.oid) as owned
      from pg_roles r where r.rolname = session_user`);
    assert.deepEqual(
      { ...who, owned: Number(who!.owned) },
      {
        session_user: 'carebell_app',
        current_user: 'carebell_app',
        rolsuper: false,
        rolbypassrls: false,
        owned: 0,
      },
    );
  });

  // SET ROLE NONE returns a session to the role it logged in as: the escape a SET ROLE setup leaves open.
  it('cannot step out of row-level security by dropping the role it was switched to', async () => {
    const rows = await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local role none`);
      return tx.execute<{ n: string }>(sql`select count(*) as n from patients`);
    });
    assert.equal(Number(rows[0]!.n), 0);
  });

  it('cannot create objects in the public schema, whatever its role setting', async () => {
    await assert.rejects(
      database.db.transaction(async (tx) => {
        await tx.execute(sql`set local role none`);
        await tx.execute(sql`create table public.smuggled (id int)`);
      }),
      (error: Error) => {
        assert.match(
          (error.cause as Error | undefined)?.message ?? error.message,
          /permission denied for schema public/,
        );
        return true;
      },
    );
  });

  it("forces row-level security on every table that has it, so it holds for the tables' owner too", async () => {
    const tables = await database.owner.db.execute<{ relname: string; forced: boolean }>(sql`
      select relname, relforcerowsecurity as forced from pg_class
      where relnamespace = 'public'::regnamespace and relkind = 'r' and relrowsecurity`);
    assert.ok(tables.length >= 14, `${tables.length} tables under row-level security`);
    for (const { relname, forced } of tables) assert.ok(forced, `${relname} does not force it`);
  });

  it('runs every SECURITY DEFINER function with pg_temp last on its search_path', async () => {
    const functions = await database.owner.db.execute<{ proname: string; config: string[] | null }>(sql`
      select proname, proconfig as config from pg_proc
      where pronamespace = 'public'::regnamespace and prosecdef`);
    assert.ok(functions.length >= 2);
    for (const { proname, config } of functions) {
      const searchPath = config?.find((entry) => entry.startsWith('search_path='));
      assert.match(searchPath ?? '', /^search_path=.*\bpg_temp$/, `${proname}: ${searchPath}`);
    }
  });

  // withClinic sends BEGIN and the clinic's scope with the work's first statements, not before them.
  it("runs a clinic's work, first statement included, in one transaction that sees that clinic", async () => {
    const seen = await withClinic(database.db, patient.clinicId, async (tx) => {
      const [first] = await tx.execute<{ at: string; xid: string; clinic: string; rows: string }>(sql`
        select now()::text as at, txid_current()::text as xid,
          current_setting('carebell.clinic_id', true) as clinic,
          (select count(*) from patients)::text as rows`);
      await tx.execute(sql`select pg_sleep(0.02)`);
      const [last] = await tx.execute<{ at: string; xid: string }>(
        sql`select now()::text as at, txid_current()::text as xid`,
      );
      return { first: first!, last: last! };
    });
    assert.equal(seen.first.clinic, patient.clinicId);
    assert.equal(seen.first.rows, '1');
    assert.deepEqual(seen.last, { at: seen.first.at, xid: seen.first.xid });
  });

  it('writes nothing when a statement failed, even if the work caught its error', async () => {
    const language = () =>
      withClinic(database.db, patient.clinicId, (tx) =>
        tx.execute<{ language: string }>(sql`select language from patients where id = ${patient.patientId}`),
      );
    const [before] = await language();
    await assert.rejects(
      withClinic(database.db, patient.clinicId, async (tx) => {
        await tx.execute(sql`update patients set language = 'xx' where id = ${patient.patientId}`);
        await tx.execute(sql`select 1 / 0`).catch(() => undefined);
      }),
      /rolled back at commit/,
    );
    const [after] = await language();
    assert.equal(after!.language, before!.language);
    // The connection went back to the pool clean: the next transaction on it works.
    await Promise.all(Array.from({ length: 12 }, () => language()));
  });

  // Unprepared, each statement with parameters is described in a round trip of its own, and postgres.js
  // sends nothing after it until it is answered: batches of statements would run one at a time.
  it('prepares each statement once on its connection, bulk statements excepted', async () => {
    // `?prepare=false` (for PgBouncer in transaction mode) turns it off.
    const unprepared = new URL(database.appUrl);
    unprepared.searchParams.set('prepare', 'false');
    const preparedParameters = async (url: string) => {
      const single = connectDatabase(url, { max: 1 });
      try {
        const read = (ids: string[]) =>
          withClinic(single.db, patient.clinicId, (tx) =>
            tx.select({ id: patients.id }).from(patients).where(inArray(patients.id, ids)),
          );
        const many = [patient.patientId, ...Array.from({ length: 80 }, () => randomUUID())];
        for (let round = 0; round < 3; round++) {
          assert.equal((await read([patient.patientId])).length, 1);
          assert.equal((await read(many)).length, 1);
        }
        const prepared = await withClinic(single.db, patient.clinicId, (tx) =>
          tx.execute<{ parameters: number }>(sql`
            select cardinality(parameter_types) as parameters from pg_prepared_statements
            where statement like '%from "patients"%'`),
        );
        return prepared.map((row) => Number(row.parameters));
      } finally {
        await single.close();
      }
    };
    assert.deepEqual(await preparedParameters(database.appUrl), [1], 'the one-id read only, once');
    assert.deepEqual(await preparedParameters(unprepared.toString()), []);
  });
});
