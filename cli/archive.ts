import type { Config } from '../config';
import { purgeArchive } from '../usecases/purge-archive';
import { withCarebell } from './connect';
import { printJson, progress } from './output';

/** Runs the daily archive purge now, clinic by clinic, printing progress. */
export async function archivePurgeCommand(config: Config, options: { json?: boolean }): Promise<void> {
  const result = await withCarebell(config, ({ db }) =>
    purgeArchive(db, {
      actor: 'cli:archive-purge',
      onClinic: (index, total, done) =>
        progress(
          `  clinic ${index}/${total}: ${done.contents} archived messages and ${done.links} expired links deleted so far`,
        ),
    }),
  );
  if (options.json) return printJson(result);
  process.stdout.write(
    `archive purged: ${result.contents} archived messages past retention and ${result.links} expired links deleted across ${result.clinics} clinics\n`,
  );
}
