import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { DecryptionError, FieldCipher } from '../../security/field-cipher';
import { buildKeyRing, parseKeyRingSpec } from '../../security/key-ring';
import { EncryptionCodec } from '../../security/payload-codec';

const oldKey = { id: 'old', key: randomBytes(32) };
const newKey = { id: 'new', key: randomBytes(32) };
const indexKey = randomBytes(32);
const context = { clinicId: randomUUID(), table: 'patients', column: 'name_enc', rowId: randomUUID() };

describe('field encryption', () => {
  const cipher = new FieldCipher(buildKeyRing([oldKey], indexKey));

  it('round-trips and hides the value', () => {
    const stored = cipher.encrypt('Zephyrine Quillfeather', context);
    assert.match(stored, /^v1:old:[A-Za-z0-9_-]+$/);
    assert.ok(!stored.includes('Zephyrine'));
    assert.equal(cipher.decrypt(stored, context), 'Zephyrine Quillfeather');
    assert.notEqual(cipher.encrypt('Zephyrine Quillfeather', context), stored, 'a fresh IV every time');
  });

  it('fails loudly on tampered ciphertext', () => {
    const stored = cipher.encrypt('1969-04-13', context);
    const body = stored.slice('v1:old:'.length);
    const flipped = `v1:old:${body.slice(0, 20)}${body[20] === 'A' ? 'B' : 'A'}${body.slice(21)}`;
    assert.throws(() => cipher.decrypt(flipped, context), DecryptionError);
    assert.throws(() => cipher.decrypt(stored.slice(0, -4), context), DecryptionError);
    assert.throws(() => cipher.decrypt('plaintext', context), /not an encrypted value/);
  });

  it('refuses a value copied to another row, column or clinic', () => {
    const stored = cipher.encrypt('+14155550199', context);
    for (const elsewhere of [
      { ...context, rowId: randomUUID() },
      { ...context, column: 'date_of_birth_enc' },
      { ...context, table: 'contact_points' },
      { ...context, clinicId: randomUUID() },
    ]) {
      assert.throws(() => cipher.decrypt(stored, elsewhere), /failed authentication/);
    }
  });

  it('writes with the newest key and still reads the old one', () => {
    const before = cipher.encrypt('old value', context);
    const rotated = new FieldCipher(buildKeyRing([oldKey, newKey], indexKey));
    assert.equal(rotated.decrypt(before, context), 'old value');
    assert.match(rotated.encrypt('new value', context), /^v1:new:/);
    const withoutOld = new FieldCipher(buildKeyRing([newKey], indexKey));
    assert.throws(() => withoutOld.decrypt(before, context), /key old is not in the key ring/);
  });

  it('reloads the key ring when a value names a key it has not seen', () => {
    const newer = new FieldCipher(buildKeyRing([oldKey, newKey], indexKey));
    const stored = newer.encrypt('written after rotation', context);
    const stale = new FieldCipher(buildKeyRing([oldKey], indexKey), () =>
      buildKeyRing([oldKey, newKey], indexKey),
    );
    assert.equal(stale.decrypt(stored, context), 'written after rotation');
    assert.equal(stale.ring.current.id, 'new');
  });

  it('keeps blind indexes stable across key rotation and distinct per clinic', () => {
    const rotated = new FieldCipher(buildKeyRing([oldKey, newKey], indexKey));
    const clinic = randomUUID();
    assert.equal(
      cipher.blindIndex('phone', clinic, '+14155550199'),
      rotated.blindIndex('phone', clinic, '+14155550199'),
    );
    assert.notEqual(
      cipher.blindIndex('phone', clinic, '+14155550199'),
      cipher.blindIndex('phone', randomUUID(), '+14155550199'),
    );
    assert.notEqual(cipher.blindIndex('phone', clinic, 'x'), cipher.blindIndex('email', clinic, 'x'));
  });

  it('parses CAREBELL_KEYRING with the newest key last and rejects bad keys', () => {
    const ring = parseKeyRingSpec(
      `a:${oldKey.key.toString('base64')},b:${newKey.key.toString('base64')}`,
      indexKey.toString('base64'),
    );
    assert.equal(ring.current.id, 'b');
    assert.equal(ring.keys.size, 2);
    assert.throws(() => parseKeyRingSpec('a:c2hvcnQ=', indexKey.toString('base64')), /32 bytes/);
  });
});

describe('Temporal payload encryption', () => {
  const payload = {
    metadata: { encoding: Buffer.from('json/plain') },
    data: Buffer.from('{"name":"Zephyrine"}'),
  };

  it('encrypts payloads and decodes them after rotation', async () => {
    const codec = new EncryptionCodec(buildKeyRing([oldKey], indexKey));
    const [encoded] = await codec.encode([payload]);
    assert.ok(!Buffer.from(encoded!.data!).toString('latin1').includes('Zephyrine'));
    assert.equal(Buffer.from(encoded!.metadata!.encoding!).toString(), 'binary/encrypted');
    const rotated = new EncryptionCodec(buildKeyRing([oldKey, newKey], indexKey));
    const [decoded] = await rotated.decode([encoded!]);
    assert.equal(Buffer.from(decoded!.data!).toString(), '{"name":"Zephyrine"}');
    await assert.rejects(
      new EncryptionCodec(buildKeyRing([newKey], indexKey)).decode([encoded!]),
      /not in the key ring/,
    );
  });

  it('fails loudly on a tampered payload', async () => {
    const codec = new EncryptionCodec(buildKeyRing([oldKey], indexKey));
    const [encoded] = await codec.encode([payload]);
    const data = Buffer.from(encoded!.data!);
    data[20] = data[20]! ^ 0xff;
    await assert.rejects(codec.decode([{ ...encoded, data }]), /failed authentication/);
  });

  const inWorkflow = (workflowId: string) => ({
    type: 'workflow' as const,
    namespace: 'default',
    workflowId,
  });

  it('refuses a payload it did not encrypt, unless asked to show it as it is', async () => {
    const codec = new EncryptionCodec(buildKeyRing([oldKey], indexKey));
    await assert.rejects(codec.decode([payload], inWorkflow('journey:a')), /not encrypted by carebell/);
    await assert.rejects(codec.decode([payload]), /not encrypted by carebell/);
    const endpoint = new EncryptionCodec(buildKeyRing([oldKey], indexKey), { plaintext: 'pass' });
    assert.deepEqual(await endpoint.decode([payload]), [payload]);
  });

  it('binds a payload to its workflow: another workflow cannot use a copy', async () => {
    const codec = new EncryptionCodec(buildKeyRing([oldKey], indexKey));
    const [encoded] = await codec.encode([payload], inWorkflow('journey:a'));
    assert.equal(Buffer.from(encoded!.metadata!['encryption-workflow-id']!).toString(), 'journey:a');
    const [same] = await codec.decode([encoded!], inWorkflow('journey:a'));
    assert.equal(Buffer.from(same!.data!).toString(), '{"name":"Zephyrine"}');
    // An activity of the workflow, and the operators' endpoint (no context), read it too.
    const activity = {
      type: 'activity' as const,
      namespace: 'default',
      workflowId: 'journey:a',
      isLocal: false,
    };
    assert.equal((await codec.decode([encoded!], activity)).length, 1);
    assert.equal((await codec.decode([encoded!])).length, 1);

    await assert.rejects(codec.decode([encoded!], inWorkflow('journey:b')), /belongs to another workflow/);
    // Relabelled, or stripped of its binding, it no longer authenticates.
    const relabel = (metadata: Record<string, Uint8Array>) => ({ ...encoded!, metadata });
    const unbound = { ...encoded!.metadata! };
    delete unbound['encryption-workflow-id'];
    await assert.rejects(
      codec.decode(
        [relabel({ ...encoded!.metadata!, 'encryption-workflow-id': Buffer.from('journey:b') })],
        inWorkflow('journey:b'),
      ),
      /failed authentication/,
    );
    await assert.rejects(codec.decode([relabel(unbound)], inWorkflow('journey:b')), /failed authentication/);
  });

  it("accepts a schedule's payload in the runs it starts, for sweeps only", async () => {
    const codec = new EncryptionCodec(buildKeyRing([oldKey], indexKey), {
      isScheduledWorkflowId: (id) => id.startsWith('sweep:'),
    });
    const run = '-2026-11-28T06:00:00Z';
    const [sweep] = await codec.encode([payload], inWorkflow('sweep:q:screening-check'));
    assert.equal((await codec.decode([sweep!], inWorkflow(`sweep:q:screening-check${run}`))).length, 1);
    await assert.rejects(
      codec.decode([sweep!], inWorkflow('sweep:q:screening-check-other')),
      /another workflow/,
    );
    const [journey] = await codec.encode([payload], inWorkflow('journey:a'));
    await assert.rejects(codec.decode([journey!], inWorkflow(`journey:a${run}`)), /another workflow/);
  });

  it('still reads payloads written before they were bound, so journeys in flight go on', async () => {
    const codec = new EncryptionCodec(buildKeyRing([oldKey], indexKey));
    const [legacy] = await codec.encode([payload]);
    assert.equal(legacy!.metadata!['encryption-workflow-id'], undefined);
    assert.equal((await codec.decode([legacy!], inWorkflow('journey:a'))).length, 1);
  });
});
