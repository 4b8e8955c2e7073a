import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { startCodecServer, type CodecServer } from '../../security/codec-server';
import { EncryptionCodec } from '../../security/payload-codec';
import { createTestDatabase, testKeyRing } from '../support/harness';

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
});
