// Bulk imports in the background: one long activity per job, heartbeating after every batch, resuming
// from the job's recorded progress when retried.
import { Context } from '@temporalio/activity';
import type { ImportActivities } from '../domain/import';
import { runImport } from '../usecases/imports';
import type { ActivityDeps } from './deps';

export function createImportActivities(deps: ActivityDeps): ImportActivities {
  const enrollment = { ...deps.temporal, db: deps.db, cipher: deps.cipher };
  return {
    async processImport({ clinicId, jobId }) {
      await runImport(enrollment, clinicId, jobId, (processed) => Context.current().heartbeat(processed));
    },
  };
}
