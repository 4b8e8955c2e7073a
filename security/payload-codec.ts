// Encrypts every Temporal payload (inputs, results, signals, memos, failure details) with the key ring, so
// Temporal's history holds no plaintext. Old payloads name their key id and stay readable after rotation.
//
// Anyone who reaches the Temporal frontend can write payloads into a history: a workflow started with
// plaintext input, or an encrypted input copied from another workflow, would make the worker text a real
// patient. So the worker refuses payloads the codec did not encrypt, and each payload is bound to the
// workflow it belongs to: its workflow id is in the payload's metadata and in the cipher's associated data,
// and the SDK's serialization context (1.24, experimental) tells decode which workflow it is decoding for.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  METADATA_ENCODING_KEY,
  ValueError,
  type Payload,
  type PayloadCodec,
  type SerializationContext,
} from '@temporalio/common';
import { decode, encode } from '@temporalio/common/lib/encoding';
import proto from '@temporalio/proto';
import { deriveKey, type KeyRing } from './key-ring';

const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const BOUND_TO = 'encryption-workflow-id';
const PURPOSE = 'temporal-payload';

/** A Temporal Schedule starts its action's workflow id with the run's time appended (RFC 3339). */
const SCHEDULED_RUN = /^-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export interface EncryptionCodecOptions {
  /** Re-reads the key ring when a payload names a key this process does not have yet. */
  reload?: () => KeyRing;
  /**
   * `refuse` (workers and clients): a payload the codec did not encrypt is an error. `pass` (the
   * operators' codec endpoint): shown as it is, so an operator can see what someone injected.
   */
  plaintext?: 'refuse' | 'pass';
  /**
   * Workflow ids of Schedule actions, whose runs carry the schedule's time after the id; payloads bound
   * to them are accepted in those runs. Only ids whose workflows are safe to run again (sweeps).
   */
  isScheduledWorkflowId?: (workflowId: string) => boolean;
}

export class EncryptionCodec implements PayloadCodec {
  private readonly keys = new Map<string, Buffer>();
  private ring: KeyRing;

  constructor(
    ring: KeyRing,
    private readonly options: EncryptionCodecOptions = {},
  ) {
    this.ring = ring;
    this.learn(ring);
  }

  private learn(ring: KeyRing): void {
    this.ring = ring;
    for (const [id, key] of ring.keys) this.keys.set(id, deriveKey(key, 'temporal', PURPOSE));
  }

  encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    const { id } = this.ring.current;
    const workflowId = context?.workflowId;
    return Promise.resolve().then(() =>
      payloads.map((payload) => {
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', this.keys.get(id)!, iv);
        if (workflowId !== undefined) cipher.setAAD(boundData(workflowId));
        const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
        const body = Buffer.concat([cipher.update(plain), cipher.final()]);
        return {
          metadata: {
            [METADATA_ENCODING_KEY]: encode(ENCODING),
            [KEY_ID]: encode(id),
            ...(workflowId === undefined ? {} : { [BOUND_TO]: encode(workflowId) }),
          },
          data: Buffer.concat([iv, body, cipher.getAuthTag()]),
        };
      }),
    );
  }

  decode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    return Promise.resolve().then(() => payloads.map((payload) => this.decodeOne(payload, context)));
  }

  private decodeOne(payload: Payload, context: SerializationContext | undefined): Payload {
    const metadata = payload.metadata ?? {};
    const encoding = metadata[METADATA_ENCODING_KEY];
    if (!encoding || decode(encoding) !== ENCODING) {
      if (this.options.plaintext === 'pass') return payload;
      throw new ValueError('payload is not encrypted by carebell: refused (it did not come from carebell)');
    }
    const bound = metadata[BOUND_TO] ? decode(metadata[BOUND_TO]) : undefined;
    const expected = context?.workflowId;
    // Payloads written before binding carry no workflow id: they are read as before (see README).
    if (bound !== undefined && expected !== undefined && !this.belongsTo(bound, expected))
      throw new ValueError('payload belongs to another workflow: refused (copied from another history?)');
    const idBytes = metadata[KEY_ID];
    const id = idBytes ? decode(idBytes) : '';
    if (!this.keys.has(id) && this.options.reload) this.learn(this.options.reload());
    const key = this.keys.get(id);
    if (!key)
      throw new ValueError(`payload encrypted with key ${id || '(none)'}, which is not in the key ring`);
    const data = Buffer.from(payload.data ?? new Uint8Array());
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
    if (bound !== undefined) decipher.setAAD(boundData(bound));
    decipher.setAuthTag(data.subarray(data.length - 16));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
    } catch {
      throw new ValueError(`payload failed authentication under key ${id}: tampered or corrupted`);
    }
    return proto.temporal.api.common.v1.Payload.decode(plain);
  }

  private belongsTo(bound: string, workflowId: string): boolean {
    if (workflowId === bound) return true;
    return (
      workflowId.startsWith(bound) &&
      SCHEDULED_RUN.test(workflowId.slice(bound.length)) &&
      this.options.isScheduledWorkflowId?.(bound) === true
    );
  }
}

function boundData(workflowId: string): Buffer {
  return Buffer.from(`carebell-payload|workflow|${workflowId}`);
}
