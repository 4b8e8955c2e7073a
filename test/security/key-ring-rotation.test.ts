// Two key rotations at once must not lose a key: values re-encrypted under a key that a concurrent
// rotation then overwrote could never be read again. The key ring file's read-modify-write is locked,
// written atomically and checked after writing.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { ENCRYPTED_COLUMNS } from '../../db/queries/patients';
import { FieldCipher } from '../../security/field-cipher';
import { addKeyToRingFile, loadOrCreateKeyRingFile, readKeyRingFileSync } from '../../security/key-ring';
import { createPatient } from '../support/fixtures';
import { createTestDatabase, runCarebell, tempDir, temporalAddress, testKeyRing } from '../support/harness';

describe('key rotation, concurrently', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('keyring');
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('keeps every key when several rotations add one at the same moment', async () => {
    const file = path.join(dir, 'concurrent', 'keyring.json');
    const first = await loadOrCreateKeyRingFile(file, () => {});
    const added = await Promise.all(Array.from({ length: 5 }, () => addKeyToRingFile(file)));
    const ring = readKeyRingFileSync(file);
    assert.deepEqual(
      [...ring.keys.keys()].sort(),
      [first.current.id, ...added].sort(),
      'no rotation overwrote another',
    );
    assert.equal(new Set(added).size, 5);
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    const leftovers = (await fs.readdir(path.dirname(file))).filter((name) => name !== 'keyring.json');
    assert.deepEqual(leftovers, [], 'no temporary file or lock left behind');
  });

  it('leaves every value readable after two `keys rotate` at once', async () => {
    const database = await createTestDatabase();
    try {
      const dataDir = path.join(dir, 'cli');
      await fs.mkdir(dataDir, { mode: 0o700 });
      // The ring the test patients were written with, as the data dir's key ring file.
      await fs.writeFile(
        path.join(dataDir, 'keyring.json'),
        JSON.stringify({
          keys: [...testKeyRing.keys].map(([id, key]) => ({ id, key: key.toString('base64') })),
          blindIndexKey: testKeyRing.blindIndexKey.toString('base64'),
        }),
        { mode: 0o600 },
      );
      await createPatient(database.db, { phone: '+14155550721' });
      await createPatient(database.db, { phone: '+14155550722' });
      const env = {
        PATH: process.env.PATH,
        CAREBELL_DATA_DIR: dataDir,
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: temporalAddress(),
      };
      const results = await Promise.all([
        runCarebell(['keys', 'rotate', '--json'], env),
        runCarebell(['keys', 'rotate', '--json'], env),
      ]);
      for (const result of results) assert.equal(result.code, 0, result.stderr);

      const ring = readKeyRingFileSync(path.join(dataDir, 'keyring.json'));
      for (const result of results) {
        const { keyId } = JSON.parse(result.stdout) as { keyId: string };
        assert.ok(ring.keys.has(keyId), `key ${keyId} that values were re-encrypted under is in the ring`);
      }
      for (const { table, column } of ENCRYPTED_COLUMNS) {
        const values = await database.owner.db.execute<{ value: string }>(
          sql`select ${sql.identifier(column)} as value from ${sql.identifier(table)} where ${sql.identifier(column)} is not null`,
        );
        for (const { value } of values) {
          assert.ok(
            ring.keys.has(FieldCipher.keyIdOf(value)!),
            `${table}.${column} is under a key the ring has`,
          );
        }
      }
    } finally {
      await database.close();
    }
  });
});
