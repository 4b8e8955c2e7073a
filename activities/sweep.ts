// The sweep's work, one page of one clinic's patients at a time: select those due, enroll them. Every
// enrollment is idempotent, so a page retried after a crash enrolls nobody twice. A patient whose record
// cannot be read is skipped and reported, so one bad record never stops the sweep of every clinic.
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { getClinic } from '../db/queries/clinics';
import { marketingOptedIn } from '../db/queries/consents';
import { activePatientsPage } from '../db/queries/patients';
import { lastScreenings, type PatientScreenings } from '../db/queries/screenings';
import { settingsOf } from '../journeys/clinic-settings';
import { withClinic } from '../db/tenant';
import { CarebellError } from '../domain/errors';
import { selectForSweep, sweepByKey } from '../journeys/sweeps';
import { clinicJourneys, enroll, type EnrollRequest } from '../usecases/enroll';
import type { ActivityDeps } from './deps';

const ACTOR = 'sweep';

/**
 * The sweep workflow retries a page without limit; past this many attempts the page gives up, so a
 * failure that retrying cannot cure (about 20 minutes of backoff) ends this run instead of holding the
 * schedule, which skips later runs while one is still going. The next run starts over.
 */
export const MAX_SWEEP_PAGE_ATTEMPTS = 10;

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
  /** Patients skipped because their record cannot be decrypted (ids only; each audited as a failed read). */
  unreadable: string[];
  /** Where the next page starts; null when this clinic is done. */
  last: string | null;
}

export function createSweepActivities(deps: ActivityDeps) {
  const enrollment = { ...deps.temporal, db: deps.db, cipher: deps.cipher };

  async function sweepPage(input: SweepBatchInput, context: Context): Promise<SweepBatchResult> {
    const sweep = sweepByKey(input.sweep);
    const { clinicId } = input;
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
        const read = await activePatientsPage(tx, deps.cipher, ACTOR, clinicId, input.after, input.limit);
        const ids = read.patients.map((patient) => patient.id);
        const [screenings, optedIn] = await Promise.all([
          sweep.select.kind === 'screening-due'
            ? lastScreenings(tx, deps.cipher, ACTOR, clinicId, ids)
            : { latest: new Map<string, PatientScreenings>(), unreadable: new Set<string>() },
          sweep.select.kind === 'open-enrollment' || sweep.select.kind === 'medicaid-renewal'
            ? marketingOptedIn(tx, clinicId, ids)
            : new Set<string>(),
        ]);
        const unreadable = [...read.unreadable, ...screenings.unreadable];
        const today = DateTime.fromMillis(input.asOf, { zone: clinic.timeZone }).toISODate()!;
        const settings = settingsOf(clinic.settings);
        const requests: EnrollRequest[] = read.patients
          .filter((patient) => !screenings.unreadable.has(patient.id))
          .flatMap((patient) =>
            selectForSweep(
              sweep,
              {
                ...patient,
                ...(screenings.latest.get(patient.id) ?? { screenings: [], exclusions: [] }),
                marketingOptIn: optedIn.has(patient.id),
              },
              today,
              settings,
            ).map((pick) => ({ ...pick, clinicId, patientId: patient.id, journey })),
          );
        const scanned = read.patients.length + read.unreadable.length;
        return { requests, scanned, unreadable, last: read.last };
      },
      { signal },
    );
    if (!page) return { scanned: 0, enrolled: 0, alreadyEnrolled: 0, unreadable: [], last: null };
    if (page.unreadable.length > 0) {
      // Opaque ids only: enough for an operator to find the rows, nothing about the patients.
      deps.log.warn(
        { sweep: sweep.key, clinicId, unreadable: page.unreadable.length, patientIds: page.unreadable },
        'sweep skipped patients whose records cannot be decrypted',
      );
    }

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
    return {
      scanned: page.scanned,
      enrolled,
      alreadyEnrolled,
      unreadable: page.unreadable,
      last: full ? page.last : null,
    };
  }

  return {
    /** Outside withClinic on purpose: clinic_ids() is SECURITY DEFINER and returns the ids alone. */
    async listClinicIds(): Promise<string[]> {
      const rows = await deps.db.execute<{ id: string }>(sql`select clinic_ids() as id`);
      return rows.map((row) => row.id);
    },

    async sweepBatch(input: SweepBatchInput): Promise<SweepBatchResult> {
      const context = Context.current();
      try {
        return await sweepPage(input, context);
      } catch (error) {
        const { attempt } = context.info;
        if (attempt < MAX_SWEEP_PAGE_ATTEMPTS || error instanceof CancelledFailure) throw error;
        throw new CarebellError(
          'SweepPageGaveUp',
          `sweep ${input.sweep}: the page of clinic ${input.clinicId} failed ${attempt} times; this run stops, the next starts over`,
          { cause: error },
        );
      }
    },
  };
}
