// Errors about malformed input say where, never what: a JSON parse error from V8 quotes the text around
// the fault (an EHR id, a name, a key), so every parse of outside input reports the position only.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseJson } from '../../lib/json-file';
import { startCodecServer, type CodecServer } from '../../security/codec-server';
import { loadOrCreateKeyRingFile } from '../../security/key-ring';
import { createTestDatabase, runCarebell, tempDir, testKeyRing } from '../support/harness';

const EHR_ID = 'MRN-CANARY-0042';
/** Ways to break JSON right next to the secret, each a different V8 message. */
const malformed = [
  `{"patient": {"ehrId": ${EHR_ID}}}`,
  `{"patient": {"ehrId": "${EHR_ID}"}} ${EHR_ID}`,
  `{"patient": {"ehrId": "${EHR_ID}\u0001"}}`,
  `{${EHR_ID}: 1}`,
  `{"patient": "${EHR_ID}"`,
  `["${EHR_ID}",]`,
];

/** No stretch of 6 characters of the secret appears in `text`. */
function assertNoFragment(text: string, secret: string, where: string): void {
  for (let start = 0; start + 6 <= secret.length; start++) {
    const fragment = secret.slice(start, start + 6);
    assert.ok(!text.includes(fragment), `${where} echoes "${fragment}": ${text}`);
  }
}

describe('errors never echo the input', () => {
  let dir: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let codec: CodecServer;
  const token = 'an-operator-token-of-enough-length-0123';

  before(async () => {
    dir = await tempDir('echo');
    database = await createTestDatabase();
    codec = await startCodecServer({
      port: 0,
      keyRing: testKeyRing,
      operators: [{ name: 'alice', token }],
      allowedOrigin: 'http://localhost:8233',
      db: database.db,
    });
  });
  after(async () => {
    await codec?.close();
    await database?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('parses outside JSON with an error that gives the position only', () => {
    for (const text of malformed) {
      assert.throws(
        () => parseJson(text, 'the event'),
        (error: Error) => {
          assert.match(error.message, /^the event is not valid JSON/);
          assertNoFragment(error.message, EHR_ID, 'parseJson');
          return true;
        },
      );
    }
  });

  it('answers a malformed codec request body without quoting it', async () => {
    for (const text of malformed) {
      const response = await fetch(`${codec.url}/decode`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: text,
      });
      assert.equal(response.status, 400);
      assertNoFragment(await response.text(), EHR_ID, 'the codec endpoint');
    }
  });

  it('reports a malformed event or journey file to the CLI user without quoting it', async () => {
    // Each run starts a process: two of the forms are enough here, parseJson above sees them all.
    for (const [index, command] of [
      ['events', 'send'],
      ['journeys', 'publish'],
    ].entries()) {
      const file = path.join(dir, `input-${index}.json`);
      await fs.writeFile(file, malformed[index]!);
      const args = [...command, '--clinic', randomUUID(), '--file', file];
      const result = await runCarebell(args, { PATH: process.env.PATH, CAREBELL_DATA_DIR: dir });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /is not valid JSON/);
      assertNoFragment(result.stderr + result.stdout, EHR_ID, command.join(' '));
    }
  });

  it('reports a malformed key ring file without quoting the keys in it', async () => {
    const key = 'c2VjcmV0LWtleS1tYXRlcmlhbC10aGF0LW11c3Qtbm90LWxlYWs=';
    const file = path.join(dir, 'keyring.json');
    await fs.writeFile(file, `{"keys": [{"id": "k1", "key": ${key}}]}`, { mode: 0o600 });
    await assert.rejects(
      loadOrCreateKeyRingFile(file, () => {}),
      (error: Error) => {
        assert.match(error.message, /keyring.json is not valid JSON/);
        assertNoFragment(error.message, key, 'the key ring');
        return true;
      },
    );
  });
});
