import fs from 'node:fs/promises';
import type { Config } from '../config';
import { getImportJob, type ImportJob } from '../db/queries/import-jobs';
import { withClinic } from '../db/tenant';
import { submitImport } from '../usecases/imports';
import { viewOfImport } from '../api/routes/imports';
import { clinicIdOption, withCarebell } from './connect';
import { CliError, printJson, progress } from './output';

const bar = (job: ImportJob) => {
  const total = job.total ?? 0;
  const width = 30;
  const filled = total ? Math.round((job.processed / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${job.processed}${total ? `/${total}` : ''} rows, ${job.failed} refused`;
};

/**
 * Imports patients from a CSV file through the same background job as the API, showing its progress;
 * the same file again changes nothing. Exits 1 when any row was refused (each is listed by line).
 */
export async function patientsImportCommand(
  config: Config,
  file: string,
  options: { clinic: string; json?: boolean },
): Promise<void> {
  const clinicId = clinicIdOption(options.clinic);
  const content = await fs.readFile(file).catch((error: Error) => {
    throw new CliError(`cannot read ${file}: ${error.message}`, 2);
  });
  if (content.length === 0) throw new CliError(`${file} is empty`, 2);
  const job = await withCarebell(config, async (carebell) => {
    const submitted = await submitImport(carebell, clinicId, 'patients-csv', content, 'cli:patients-import');
    if (!submitted.created)
      progress(`this file was imported before (job ${submitted.job.id}): nothing changes`);
    else progress(`importing ${file} as job ${submitted.job.id}`);
    let current = submitted.job;
    const tty = process.stderr.isTTY;
    while (current.status === 'queued' || current.status === 'running') {
      await new Promise((resolve) => setTimeout(resolve, 500));
      current = (await withClinic(carebell.db, clinicId, (tx) => getImportJob(tx, clinicId, current.id)))!;
      if (tty) process.stderr.write(`\r  ${bar(current)}`);
    }
    if (tty) process.stderr.write('\n');
    return current;
  });
  const view = viewOfImport(job);
  if (options.json) printJson(view);
  else {
    process.stdout.write(
      `import ${job.status}: ${job.succeeded} imported, ${job.failed} refused, ${job.skipped} skipped of ${job.total ?? job.processed}\n`,
    );
    for (const failure of view.failures) process.stdout.write(`  line ${failure.line}: ${failure.problem}\n`);
  }
  if (job.status === 'failed') throw new CliError(`the file could not be read: ${job.error}`);
  if (job.failed > 0) throw new CliError(`${job.failed} rows refused (listed above by line)`);
}
