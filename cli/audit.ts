import type { Config } from '../config';
import { connectDatabase } from '../db/client';
import { verifyAuditChain } from '../db/queries/audit';
import { joinEndpoints } from '../infra/services';
import { CliError, ownerUrl, printJson, progress } from './output';

export async function auditVerifyCommand(config: Config, options: { json?: boolean }): Promise<void> {
  const endpoints = await joinEndpoints(config, { channels: false }).catch((error: Error) => {
    throw new CliError(error.message);
  });
  const owner = connectDatabase(ownerUrl(endpoints), { max: 1, as: 'owner' });
  try {
    const report = await verifyAuditChain(owner.db, (rows) => progress(`  ${rows} rows verified`));
    if (options.json) printJson({ ok: !report.broken, ...report });
    else if (!report.broken) process.stdout.write(`audit chain intact: ${report.rows} rows\n`);
    if (report.broken) {
      throw new CliError(
        `audit chain broken at row ${report.broken.id}: ${report.broken.reason} (${report.rows} rows before it verified)`,
      );
    }
  } finally {
    await owner.close();
  }
}
