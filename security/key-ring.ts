// The key ring: every data key ever used (by id, for decryption) and the newest one (for new writes),
// plus a separate secret for blind indexes, which must not change when data keys rotate.
import { hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { withDirectoryLock } from '../infra/lock';
import { parseJson } from '../lib/json-file';
import { ensurePrivateDir } from '../lib/private-files';

export interface KeyRing {
  current: { id: string; key: Buffer };
  keys: ReadonlyMap<string, Buffer>;
  blindIndexKey: Buffer;
}

const keyId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'key ids are 1-32 letters, digits, - or _');
const key32 = z
  .string()
  .transform((value) => Buffer.from(value, 'base64'))
  .refine((key) => key.length === 32, 'each key must be 32 bytes, base64-encoded');

export const keyRingFileSchema = z.object({
  keys: z.array(z.object({ id: keyId, key: key32 })).min(1, 'at least one key'),
  blindIndexKey: key32,
});

export function buildKeyRing(keys: { id: string; key: Buffer }[], blindIndexKey: Buffer): KeyRing {
  const map = new Map<string, Buffer>();
  for (const entry of keys) {
    if (map.has(entry.id)) throw new Error(`key id ${entry.id} appears twice in the key ring`);
    map.set(entry.id, entry.key);
  }
  // The newest key is the last one listed.
  return { current: keys[keys.length - 1]!, keys: map, blindIndexKey };
}

/**
 * `CAREBELL_KEYRING` is `id:base64key,id:base64key` with the newest last. Parsed by config, so an invalid
 * ring stops the process at start with the variable named.
 */
export function parseKeyRingSpec(spec: string, blindIndexKey: string): KeyRing {
  const parsed = keyRingFileSchema.parse({
    keys: spec.split(',').map((entry) => {
      const [id, key] = entry.trim().split(':');
      return { id, key };
    }),
    blindIndexKey,
  });
  return buildKeyRing(parsed.keys, parsed.blindIndexKey);
}

/**
 * The embedded default's key ring: generated on first start into the data dir (mode 0600) and read from
 * there afterwards. Production passes CAREBELL_KEYRING and CAREBELL_BLIND_INDEX_KEY instead.
 */
export async function loadOrCreateKeyRingFile(file: string, say: (line: string) => void): Promise<KeyRing> {
  let text: string | undefined;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text === undefined) {
    await ensurePrivateDir(path.dirname(file));
    const fresh = {
      keys: [{ id: newKeyId(), key: randomBytes(32).toString('base64') }],
      blindIndexKey: randomBytes(32).toString('base64'),
    };
    // wx: two processes starting at once must not overwrite each other's ring.
    await fs.writeFile(file, JSON.stringify(fresh, null, 2), { mode: 0o600, flag: 'wx' }).then(
      () =>
        say(`generated a new key ring at ${file} (mode 0600): back it up, data cannot be read without it`),
      (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      },
    );
    text = await fs.readFile(file, 'utf8');
  }
  const parsed = keyRingFileSchema.safeParse(parseJson(text, file));
  if (!parsed.success) throw new Error(`${file} is not a valid key ring: ${parsed.error.issues[0]?.message}`);
  return buildKeyRing(parsed.data.keys, parsed.data.blindIndexKey);
}

/** Synchronous read of a key ring file, for reloading when a value names a key this process lacks. */
export function readKeyRingFileSync(file: string): KeyRing {
  const parsed = keyRingFileSchema.parse(parseJson(readFileSync(file, 'utf8'), file));
  return buildKeyRing(parsed.keys, parsed.blindIndexKey);
}

/**
 * Adds a new newest key to a key ring file; the old keys stay, so existing data remains readable. Two
 * rotations at once must not both read the old ring and each write it back with only their own key (the
 * data re-encrypted under the lost key could never be read again): the read-modify-write holds a lock,
 * the file is replaced atomically, and the result is read back to check every key is in it.
 */
export async function addKeyToRingFile(
  file: string,
  progress: (line: string) => void = () => {},
): Promise<string> {
  return withDirectoryLock(`${file}.lock`, progress, async () => {
    const parsed = keyRingFileSchema.parse(parseJson(await fs.readFile(file, 'utf8'), file));
    let id = newKeyId();
    while (parsed.keys.some((entry) => entry.id === id)) id = newKeyId();
    const next = {
      keys: [
        ...parsed.keys.map((entry) => ({ id: entry.id, key: entry.key.toString('base64') })),
        { id, key: randomBytes(32).toString('base64') },
      ],
      blindIndexKey: parsed.blindIndexKey.toString('base64'),
    };
    await replaceFile(file, JSON.stringify(next, null, 2));
    const written = readKeyRingFileSync(file);
    const missing = next.keys.filter((entry) => !written.keys.has(entry.id)).map((entry) => entry.id);
    if (missing.length > 0 || written.current.id !== id)
      throw new Error(`${file} lost keys while adding ${id} (missing: ${missing.join(', ') || 'none'})`);
    return id;
  });
}

/** Writes a whole new file beside the old one, flushed to disk, then renames it over: never half a ring. */
async function replaceFile(file: string, content: string): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await fs.open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temporary, file);
  const directory = await fs.open(path.dirname(file), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

function newKeyId(): string {
  return `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}${randomBytes(3).toString('hex')}`;
}

/** A purpose-bound subkey, so one secret never serves two uses (HKDF-SHA256). */
export function deriveKey(master: Buffer, salt: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, `carebell:${purpose}`, 32));
}
