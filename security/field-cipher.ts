// Field-level encryption of PHI columns (AES-256-GCM). Each stored value names its key id, and its
// associated data binds it to clinic, table, column and row: copied anywhere else it fails to decrypt.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { deriveKey, type KeyRing } from './key-ring';

export interface FieldContext {
  clinicId: string;
  table: string;
  column: string;
  rowId: string;
}

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

const VERSION = 'v1';

export class FieldCipher {
  private readonly clinicKeys = new Map<string, Buffer>();
  // Derived once per kind and clinic (HKDF on every look-up showed in profiles); a reloaded ring may differ.
  private blindKeys = new Map<string, Buffer>();

  /**
   * `reload` re-reads the key ring when a value names a key this process does not have yet (another
   * process rotated it); new writes keep the newest key this process knows until it reloads.
   */
  constructor(
    private current: KeyRing,
    private readonly reload?: () => KeyRing,
  ) {}

  get ring(): KeyRing {
    return this.current;
  }

  encrypt(plaintext: string, context: FieldContext): string {
    const { id } = this.ring.current;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.clinicKey(id, context.clinicId), iv);
    cipher.setAAD(associatedData(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}:${id}:${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  decrypt(stored: string, context: FieldContext): string {
    const [version, id, packed] = stored.split(':');
    if (version !== VERSION || !id || !packed)
      throw new DecryptionError(`${describe(context)}: not an encrypted value`);
    if (!this.ring.keys.has(id) && this.reload) {
      this.current = this.reload();
      this.blindKeys = new Map();
    }
    if (!this.ring.keys.has(id)) {
      throw new DecryptionError(`${describe(context)}: key ${id} is not in the key ring`);
    }
    const raw = Buffer.from(packed, 'base64url');
    if (raw.length < 28) throw new DecryptionError(`${describe(context)}: ciphertext is truncated`);
    const decipher = createDecipheriv(
      'aes-256-gcm',
      this.clinicKey(id, context.clinicId),
      raw.subarray(0, 12),
    );
    decipher.setAAD(associatedData(context));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    try {
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new DecryptionError(
        `${describe(context)}: ciphertext failed authentication (tampered, or copied from elsewhere)`,
      );
    }
  }

  /** The key id a stored value was written with. */
  static keyIdOf(stored: string): string | undefined {
    return stored.split(':')[1];
  }

  /**
   * Keyed, per-clinic lookup hash of a normalised value (phone in E.164, lower-case email, EHR id), so
   * an inbound number can be matched without storing or revealing it.
   */
  blindIndex(
    kind:
      | 'phone'
      | 'email'
      | 'external-id'
      | 'episode'
      | 'subject'
      | 'screening'
      | 'event'
      | 'link'
      | 'idempotency-key'
      | 'import',
    clinicId: string,
    normalised: string,
  ): string {
    const cacheKey = `${kind}/${clinicId}`;
    let key = this.blindKeys.get(cacheKey);
    if (!key) {
      key = deriveKey(this.ring.blindIndexKey, clinicId, `blind-index:${kind}`);
      this.blindKeys.set(cacheKey, key);
    }
    return createHmac('sha256', key).update(normalised).digest('base64url');
  }

  private clinicKey(keyId: string, clinicId: string): Buffer {
    const cacheKey = `${keyId}/${clinicId}`;
    let key = this.clinicKeys.get(cacheKey);
    if (!key) {
      // Each clinic's data is under its own derived key: one clinic's key never opens another's data.
      key = deriveKey(this.ring.keys.get(keyId)!, clinicId, 'field');
      this.clinicKeys.set(cacheKey, key);
    }
    return key;
  }
}

function associatedData(context: FieldContext): Buffer {
  return Buffer.from(`${VERSION}|${context.clinicId}|${context.table}|${context.column}|${context.rowId}`);
}

function describe(context: FieldContext): string {
  return `${context.table}.${context.column} of ${context.rowId}`;
}
