// Encrypts every Temporal payload (inputs, results, signals, memos, failure details) with the key ring, so
// Temporal's history holds no plaintext. Old payloads name their key id and stay readable after rotation.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import { decode, encode } from '@temporalio/common/lib/encoding';
import proto from '@temporalio/proto';
import { deriveKey, type KeyRing } from './key-ring';

const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const PURPOSE = 'temporal-payload';

export class EncryptionCodec implements PayloadCodec {
  private readonly keys = new Map<string, Buffer>();

  /** `reload` re-reads the key ring when a payload names a key this process does not have yet. */
  constructor(
    private ring: KeyRing,
    private readonly reload?: () => KeyRing,
  ) {
    this.learn(ring);
  }

  private learn(ring: KeyRing): void {
    this.ring = ring;
    for (const [id, key] of ring.keys) this.keys.set(id, deriveKey(key, 'temporal', PURPOSE));
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    const { id } = this.ring.current;
    return Promise.resolve().then(() =>
      payloads.map((payload) => {
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', this.keys.get(id)!, iv);
        const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
        const body = Buffer.concat([cipher.update(plain), cipher.final()]);
        return {
          metadata: { [METADATA_ENCODING_KEY]: encode(ENCODING), [KEY_ID]: encode(id) },
          data: Buffer.concat([iv, body, cipher.getAuthTag()]),
        };
      }),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() =>
      payloads.map((payload) => {
        const metadata = payload.metadata ?? {};
        const encoding = metadata[METADATA_ENCODING_KEY];
        if (!encoding || decode(encoding) !== ENCODING) return payload;
        const idBytes = metadata[KEY_ID];
        const id = idBytes ? decode(idBytes) : '';
        if (!this.keys.has(id) && this.reload) this.learn(this.reload());
        const key = this.keys.get(id);
        if (!key)
          throw new ValueError(`payload encrypted with key ${id || '(none)'}, which is not in the key ring`);
        const data = Buffer.from(payload.data ?? new Uint8Array());
        const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
        decipher.setAuthTag(data.subarray(data.length - 16));
        let plain: Buffer;
        try {
          plain = Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
        } catch {
          throw new ValueError(`payload failed authentication under key ${id}: tampered or corrupted`);
        }
        return proto.temporal.api.common.v1.Payload.decode(plain);
      }),
    );
  }
}
