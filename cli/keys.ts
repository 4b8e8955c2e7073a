import type { Config } from '../config';
import { connectDatabase } from '../db/client';
import { appendAudit } from '../db/queries/audit';
import { keyRingFile, keyRingReloader, resolveKeyRing } from '../infra/key-ring-source';
import { joinEndpoints } from '../infra/endpoints';
import { FieldCipher } from '../security/field-cipher';
import { addKeyToRingFile } from '../security/key-ring';
import { countStale, reencryptAll } from '../security/reencrypt';
import { CliError, ownerUrl, printJson, progress } from './output';

/**
 * With the data dir's key ring: adds a new newest key (unless an earlier rotation is unfinished, which is
 * then resumed) and re-encrypts every PHI value under it. With CAREBELL_KEYRING the operator adds the key
 * to the variable first; this re-encrypts under the newest key listed there.
 */
export async function keysRotateCommand(config: Config, options: { json?: boolean }): Promise<void> {
  const endpoints = await joinEndpoints(config, { channels: false }).catch((error: Error) => {
    throw new CliError(error.message);
  });
  const owner = connectDatabase(ownerUrl(endpoints), { max: 2, as: 'owner' });
  try {
    // Another rotation may add a key while this one runs: values under it are read by re-reading the ring.
    const reload = keyRingReloader(config);
    let cipher = new FieldCipher(await resolveKeyRing(config, { create: false }), reload);
    const stale = await countStale(owner.db, cipher);
    if (!config.keyRing && stale === 0) {
      const id = await addKeyToRingFile(keyRingFile(config), progress);
      cipher = new FieldCipher(await resolveKeyRing(config, { create: false }), reload);
      progress(`added key ${id} to ${keyRingFile(config)}; restart running workers so new writes use it`);
    } else if (stale > 0) {
      progress(`${stale} values are not yet under key ${cipher.ring.current.id}; re-encrypting them`);
    }
    const report = await reencryptAll(owner.db, cipher, ({ table, column, done }) =>
      progress(`  ${table}.${column}: ${done} re-encrypted`),
    );
    await appendAudit(owner.db, {
      actor: 'cli:keys-rotate',
      clinicId: null,
      action: 'phi.reencrypt',
      objectType: 'key',
      objectId: report.keyId,
      outcome: 'success',
    });
    if (options.json) printJson(report);
    else {
      for (const entry of report.columns)
        process.stdout.write(`${entry.table}.${entry.column}: ${entry.reencrypted}\n`);
      process.stdout.write(`${report.total} values now under key ${report.keyId}\n`);
    }
  } finally {
    await owner.close();
  }
}
