import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../../config';
import { isFailureOf } from '../../domain/errors';
import { resolveOperators } from '../../infra/key-ring-source';
import { startCodecServer, type CodecServer } from '../../security/codec-server';
import { EncryptionCodec } from '../../security/payload-codec';
import { createTestDatabase, tempDir, testKeyRing } from '../support/harness';

describe('payload codec endpoint for the Temporal UI', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: CodecServer;
  const token = 'a-long-operator-token-for-tests-0123456789';

  before(async () => {
    database = await createTestDatabase();
    server = await startCodecServer({
      port: 0,
      keyRing: testKeyRing,
      operators: [{ name: 'alice', token }],
      allowedOrigin: 'http://localhost:8233',
      db: database.db,
    });
  });
  after(async () => {
    await server?.close();
    await database?.close();
  });

  const encrypted = async () => {
    const [payload] = await new EncryptionCodec(testKeyRing).encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"secret"') },
    ]);
    return {
      metadata: Object.fromEntries(
        Object.entries(payload!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(payload!.data!).toString('base64'),
    };
  };

  it('answers the browser preflight for the UI origin', async () => {
    const response = await fetch(`${server.url}/decode`, { method: 'OPTIONS' });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('access-control-allow-origin'), 'http://localhost:8233');
    assert.match(response.headers.get('access-control-allow-headers') ?? '', /authorization/);
  });

  it('refuses to decode without an operator token, and audits the attempt', async () => {
    const response = await fetch(`${server.url}/decode`, {
      method: 'POST',
      headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' },
      body: JSON.stringify({ payloads: [await encrypted()] }),
    });
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('content-type'), 'application/problem+json');
    const [row] = await database.owner.db.execute<{ outcome: string }>(
      sql`select outcome from audit_log where action = 'temporal.decode' order by id desc limit 1`,
    );
    assert.equal(row?.outcome, 'denied');
  });

  it('decodes for an authorised operator and records who it was', async () => {
    const response = await fetch(`${server.url}/decode`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'x-namespace': 'default',
      },
      body: JSON.stringify({ payloads: [await encrypted()] }),
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      payloads: { data: string; metadata: Record<string, string> }[];
    };
    assert.equal(Buffer.from(body.payloads[0]!.data, 'base64').toString(), '"secret"');
    assert.equal(Buffer.from(body.payloads[0]!.metadata.encoding!, 'base64').toString(), 'json/plain');
    const [row] = await database.owner.db.execute<{ actor: string; outcome: string }>(
      sql`select actor, outcome from audit_log where action = 'temporal.decode' order by id desc limit 1`,
    );
    assert.deepEqual({ ...row }, { actor: 'operator:alice', outcome: 'success' });
  });

  it('rejects a malformed body with a problem document', async () => {
    const response = await fetch(`${server.url}/decode`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: '{"payloads": 5}',
    });
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { detail: string }).detail, /expected \{"payloads"/);
  });

  it('refuses an empty or short operator-token file when it is loaded', async () => {
    const dataDir = await tempDir('operator-token');
    try {
      const config = loadConfig({ CAREBELL_DATA_DIR: dataDir });
      for (const content of ['', '\n', 'short-token']) {
        await fs.writeFile(path.join(dataDir, 'operator-token'), content, { mode: 0o600 });
        await assert.rejects(resolveOperators(config), (error: Error) => {
          assert.ok(isFailureOf(error, 'InvalidConfiguration'), error.message);
          assert.match(
            error.message,
            /operator-token \(delete it to have a new token generated\): .* tokens need 24 or more/,
          );
          return true;
        });
      }
      await fs.rm(path.join(dataDir, 'operator-token'));
      const [generated] = await resolveOperators(config);
      assert.ok(generated!.token.length >= 24, 'a fresh file gets a long token');
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  it('will not start with an empty token, which would match a request that has none', async () => {
    await assert.rejects(
      startCodecServer({
        port: 0,
        keyRing: testKeyRing,
        operators: [{ name: 'local', token: '' }],
        allowedOrigin: 'http://localhost:8233',
        db: database.db,
      }).then(async (opened) => {
        // Today's code starts: show what that opens before failing.
        const response = await fetch(`${opened.url}/decode`, {
          method: 'POST',
          body: JSON.stringify({ payloads: [await encrypted()] }),
        });
        await opened.close();
        return response.status;
      }),
      (error: Error) => isFailureOf(error, 'InvalidConfiguration'),
    );
  });

  const latestAudit = async () => {
    const [row] = await database.owner.db.execute<{ actor: string; outcome: string; object_id: string }>(
      sql`select actor, outcome, object_id from audit_log order by id desc limit 1`,
    );
    return { ...row };
  };

  it('audits a decode that fails and a body that cannot be read', async () => {
    const tampered = await encrypted();
    const data = Buffer.from(tampered.data, 'base64');
    data[data.length - 1]! ^= 1;
    const cases: [string, string][] = [
      [JSON.stringify({ payloads: [{ ...tampered, data: data.toString('base64') }] }), 'decode-failed'],
      ['{"payloads": ', 'invalid-body'],
      ['{"payloads": 5}', 'invalid-body'],
    ];
    for (const [body, reason] of cases) {
      const response = await fetch(`${server.url}/decode`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
      assert.equal(response.status, 400);
      assert.deepEqual(await latestAudit(), {
        actor: 'operator:alice',
        outcome: 'failure',
        object_id: reason,
      });
    }
  });

  it('audits refusals one by one up to a limit a minute, then answers 429 and audits their count', async () => {
    const braked = await startCodecServer({
      port: 0,
      keyRing: testKeyRing,
      operators: [{ name: 'alice', token }],
      allowedOrigin: 'http://localhost:8233',
      db: database.db,
      refusalsAuditedPerMinute: 3,
    });
    const [before] = await database.owner.db.execute<{ id: string }>(
      sql`select coalesce(max(id), 0) as id from audit_log`,
    );
    const statuses: number[] = [];
    try {
      for (let attempt = 0; attempt < 10; attempt++) {
        const response = await fetch(`${braked.url}/decode`, {
          method: 'POST',
          headers: { authorization: `Bearer guess-${attempt}` },
          body: '{"payloads": []}',
        });
        statuses.push(response.status);
        if (response.status === 429) assert.ok(Number(response.headers.get('retry-after')) > 0);
      }
    } finally {
      await braked.close();
    }
    assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
    const rows = await database.owner.db.execute<{
      action: string;
      outcome: string;
      object_id: string | null;
    }>(sql`select action, outcome, object_id from audit_log where id > ${before!.id} order by id`);
    assert.deepEqual(
      rows.map((row) => [row.action, row.outcome, row.object_id]),
      [
        ['temporal.decode', 'denied', null],
        ['temporal.decode', 'denied', null],
        ['temporal.decode', 'denied', null],
        ['temporal.refusals-throttled', 'denied', '7'],
      ],
    );
  });
});
