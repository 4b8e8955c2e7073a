// The sweep's work, one page of one clinic's patients at a time: select those due, enroll them. Every
// enrollment is idempotent, so a page retried after a crash enrolls nobody twice.
import { Context } from '@temporalio/activity';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { getClinic } from '../db/queries/clinics';
import { marketingOptedIn } from '../db/queries/consents';
import { activePatientsPage } from '../db/queries/patients';
import { lastScreenings } from '../db/queries/screenings';
import { withClinic } from '../db/tenant';
import { selectForSweep, sweepByKey } from '../journeys/sweeps';
import { clinicJourneys, enroll, type EnrollRequest } from '../usecases/enroll';
import type { ActivityDeps } from './deps';

const ACTOR = 'sweep';

export interface SweepBatchInput {
  sweep: string;
  clinicId: string;
  /** The last patient id of the previous page; null for the first. */
  after: string | null;
  limit: number;
  /** The sweep's moment (epoch ms): "today" is its date in the clinic's zone, the same on every retry. */
  asOf: number;
}

export interface SweepBatchResult {
  scanned: number;
  enrolled: number;
  alreadyEnrolled: number;
  /** Where the next page starts; null when this clinic is done. */
  last: string | null;
}

export function createSweepActivities(deps: ActivityDeps) {
  const enrollment = { ...deps.temporal, db: deps.db, cipher: deps.cipher };

  return {
    /** Outside withClinic on purpose: clinic_ids() is SECURITY DEFINER and returns the ids alone. */
    async listClinicIds(): Promise<string[]> {
      const rows = await deps.db.execute<{ id: string }>(sql`select clinic_ids() as id`);
      return rows.map((row) => row.id);
    },

    async sweepBatch(input: SweepBatchInput): Promise<SweepBatchResult> {
      const sweep = sweepByKey(input.sweep);
      const { clinicId } = input;
      const context = Context.current();
      // Cancelled (the attempt timed out, the sweep was cancelled, the worker stops): stop the queries too.
      const { cancellationSignal: signal } = context;
      context.heartbeat();
      const page = await withClinic(
        deps.db,
        clinicId,
        async (tx) => {
          const clinic = await getClinic(tx, clinicId);
          const journey = (await clinicJourneys(tx, clinicId)).find((known) => known.key === sweep.journey);
          if (!clinic || !journey) return undefined;
          const patients = await activePatientsPage(
            tx,
            deps.cipher,
            ACTOR,
            clinicId,
            input.after,
            input.limit,
          );
          const ids = patients.map((patient) => patient.id);
          const [screenings, optedIn] = await Promise.all([
            sweep.select.kind === 'screening-due'
              ? lastScreenings(tx, deps.cipher, clinicId, ids)
              : new Map<string, Record<string, string>>(),
            sweep.select.kind === 'marketing-opt-in'
              ? marketingOptedIn(tx, clinicId, ids)
              : new Set<string>(),
          ]);
          const today = DateTime.fromMillis(input.asOf, { zone: clinic.timeZone }).toISODate()!;
          const requests: EnrollRequest[] = patients.flatMap((patient) =>
            selectForSweep(
              sweep,
              {
                ...patient,
                lastScreenings: screenings.get(patient.id) ?? {},
                marketingOptIn: optedIn.has(patient.id),
              },
              today,
            ).map((pick) => ({ ...pick, clinicId, patientId: patient.id, journey })),
          );
          return { requests, scanned: patients.length, last: patients.at(-1)?.id ?? null };
        },
        { signal },
      );
      if (!page) return { scanned: 0, enrolled: 0, alreadyEnrolled: 0, last: null };

      let enrolled = 0;
      let alreadyEnrolled = 0;
      for (const request of page.requests) {
        signal.throwIfAborted();
        const result = await enroll(enrollment, request, { signal });
        if (result.created) enrolled++;
        else alreadyEnrolled++;
        context.heartbeat();
      }
      deps.log.info(
        { sweep: sweep.key, clinicId, scanned: page.scanned, enrolled, alreadyEnrolled },
        'sweep page done',
      );
      const full = page.scanned === input.limit;
      return { scanned: page.scanned, enrolled, alreadyEnrolled, last: full ? page.last : null };
    },
  };
}
