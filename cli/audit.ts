import type { Config } from '../config';
import { connectDatabase } from '../db/client';
import { verifyAuditChain } from '../db/queries/audit';
import { joinEndpoints } from '../infra/endpoints';
import { CliError, ownerUrl, printJson, progress } from './output';

/**
 * Verifies the hash chain and prints its head. Keep the head hash outside the database (a ticket, a log
 * shipped elsewhere): `--expect-head` then fails if rows up to it were later cut off the end, which the
 * chain alone cannot show.
 */
export async function auditVerifyCommand(
  config: Config,
  options: { json?: boolean; expectHead?: string },
): Promise<void> {
  if (options.expectHead !== undefined && !/^[0-9a-f]{64}$/.test(options.expectHead))
    throw new CliError('--expect-head must be a head hash as `audit verify` prints it (64 hex digits)', 2);
  const endpoints = await joinEndpoints(config, { channels: false }).catch((error: Error) => {
    throw new CliError(error.message);
  });
  const owner = connectDatabase(ownerUrl(endpoints), { max: 1, as: 'owner' });
  try {
    const report = await verifyAuditChain(owner.db, {
      expectHead: options.expectHead,
      onProgress: (rows) => progress(`  ${rows} rows verified`),
    });
    if (options.json) printJson({ ok: !report.broken, ...report });
    else if (!report.broken) {
      process.stdout.write(`audit chain intact: ${report.rows} rows\n`);
      if (report.head)
        process.stdout.write(
          `head ${report.head.hash} (row ${report.head.id}): keep it to check later with --expect-head\n`,
        );
    }
    if (report.broken) {
      throw new CliError(
        `audit chain broken at row ${report.broken.id}: ${report.broken.reason} (${report.rows} rows before it verified)`,
      );
    }
  } finally {
    await owner.close();
  }
}
