import path from 'node:path';
import type { Config } from '../config';
import { loadOrCreateKeyRingFile, type KeyRing } from '../security/key-ring';
import fs from 'node:fs/promises';

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
