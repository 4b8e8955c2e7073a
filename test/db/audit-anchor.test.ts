// A cut tail leaves a chain that still links up: only a head kept elsewhere shows it. `audit verify`
// prints the head; given it back later with --expect-head, it fails once rows up to it are gone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { appendAudit } from '../../db/queries/audit';
import { createPatient } from '../support/fixtures';
import { createTestDatabase, runCarebell, tempDir, temporalAddress } from '../support/harness';

describe('audit chain head', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    database = await createTestDatabase();
    await createPatient(database.db, { phone: '+14155550711' });
    env = {
      PATH: process.env.PATH,
      CAREBELL_DATA_DIR: await tempDir('audit-anchor'),
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporalAddress(),
    };
  });
  after(() => database?.close());

  const verify = async (...args: string[]) => {
    const result = await runCarebell(['audit', 'verify', '--json', ...args], env);
    return { ...result, report: result.stdout ? (JSON.parse(result.stdout) as Report) : undefined };
  };
  interface Report {
    ok: boolean;
    rows: number;
    head?: { id: number; hash: string };
    broken?: { id: number; reason: string };
  }

  it('prints the head, and fails on a cut tail once given the head recorded before the cut', async () => {
    const anchored = await verify();
    assert.equal(anchored.code, 0, anchored.stderr);
    const head = anchored.report!.head!;
    assert.match(head.hash, /^[0-9a-f]{64}$/);
    const plain = await runCarebell(['audit', 'verify'], env);
    assert.match(plain.stdout, new RegExp(`head ${head.hash} \\(row ${head.id}\\)`));

    // The chain grows; the recorded head stays in it.
    for (const action of ['probe.one', 'probe.two']) {
      await appendAudit(database.owner.db, {
        actor: 'test',
        clinicId: null,
        action,
        objectType: 'test',
        outcome: 'success',
      });
    }
    const grown = await verify('--expect-head', head.hash);
    assert.equal(grown.code, 0, grown.stderr);
    assert.equal(grown.report!.rows, anchored.report!.rows + 2);

    // The owner switches the guard off and cuts the last rows, the anchored one among them.
    await database.owner.db.transaction(async (tx) => {
      await tx.execute(sql`alter table audit_log disable trigger audit_log_append_only`);
      await tx.execute(sql`delete from audit_log where id >= ${head.id}`);
      await tx.execute(sql`alter table audit_log enable trigger audit_log_append_only`);
    });
    const unanchored = await verify();
    assert.equal(unanchored.code, 0, 'the shortened chain still links up');
    const cut = await verify('--expect-head', head.hash);
    assert.equal(cut.code, 1);
    assert.equal(cut.report!.ok, false);
    assert.match(
      cut.stderr,
      new RegExp(`the expected head ${head.hash} is not in the chain: rows were cut from its end`),
    );
  });
});
