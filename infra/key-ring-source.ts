import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config';
import { loadOrCreateKeyRingFile, readKeyRingFileSync, type KeyRing } from '../security/key-ring';
import { checkOperatorTokens, type Operator } from '../security/operators';

export const keyRingFile = (config: Config) => path.join(config.dataDir, 'keyring.json');

/**
 * The configured key ring, or the embedded default's file in the data dir. Only `npm start` may create
 * that file; any other process missing a key ring stops, rather than write data no one else can read.
 */
export async function resolveKeyRing(
  config: Config,
  options: { create: boolean; say?: (line: string) => void },
): Promise<KeyRing> {
  if (config.keyRing) return config.keyRing;
  const file = keyRingFile(config);
  if (
    !options.create &&
    !(await fs.access(file).then(
      () => true,
      () => false,
    ))
  ) {
    throw new Error(
      `no key ring: set CAREBELL_KEYRING and CAREBELL_BLIND_INDEX_KEY, or start once with \`npm start\` to create ${file}`,
    );
  }
  return loadOrCreateKeyRingFile(file, options.say ?? (() => {}));
}

/**
 * How a long-running process picks up keys added after it started: re-read the data dir's file. A ring
 * from CAREBELL_KEYRING changes only with a redeploy, so there is nothing to reload.
 */
export function keyRingReloader(config: Config): (() => KeyRing) | undefined {
  if (config.keyRing) return undefined;
  const file = keyRingFile(config);
  return () => readKeyRingFileSync(file);
}

/** Configured operators, or the embedded default's single local operator token (created on first use). */
export async function resolveOperators(config: Config): Promise<Operator[]> {
  if (config.operators) return checkOperatorTokens(config.operators, 'CAREBELL_OPERATOR_TOKENS');
  const file = path.join(config.dataDir, 'operator-token');
  await fs
    .writeFile(file, randomBytes(24).toString('base64url'), { mode: 0o600, flag: 'wx' })
    .catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  return checkOperatorTokens(
    [{ name: 'local', token: (await fs.readFile(file, 'utf8')).trim() }],
    `${file} (delete it to have a new token generated)`,
  );
}
