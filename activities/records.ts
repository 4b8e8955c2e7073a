// Background work on a clinic's records: bulk imports (one long activity per job, heartbeating after every
// batch, resuming from the job's recorded progress when retried) and the enrollment reconciler.
import { Context } from '@temporalio/activity';
import type { ImportActivities } from '../domain/import';
import type { PurgeActivities } from '../domain/purge';
import type { ReconcileActivities } from '../domain/reconcile';
import { reconcileClinic } from '../usecases/enrollments';
import { runImport } from '../usecases/imports';
import { purgeClinicArchive } from '../usecases/purge-archive';
import type { ActivityDeps } from './deps';

export function createRecordActivities(
  deps: ActivityDeps,
): ImportActivities & ReconcileActivities & PurgeActivities {
  const enrollment = { ...deps.temporal, db: deps.db, cipher: deps.cipher };
  return {
    async processImport({ clinicId, jobId }) {
      await runImport(enrollment, clinicId, jobId, (processed) => Context.current().heartbeat(processed));
    },
    reconcileClinicEnrollments(clinicId) {
      return reconcileClinic(enrollment, clinicId, () => Context.current().heartbeat());
    },
    purgeClinicArchive(clinicId) {
      return purgeClinicArchive(deps.db, clinicId, {
        actor: 'worker',
        onBatch: (done) => Context.current().heartbeat(done),
      });
    },
  };
}
