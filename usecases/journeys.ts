// What a clinic does with journeys, from the CLI or the API alike: list them, publish its own version,
// switch one on or off, and preview one for a sample patient before it reaches anyone.
import { appendAudit } from '../db/queries/audit';
import { getClinic } from '../db/queries/clinics';
import { inactiveJourneyKeys, setJourneyActivation } from '../db/queries/journey-activations';
import { publishJourneyVersion } from '../db/queries/journeys';
import { withClinic, type Queryable } from '../db/tenant';
import type { Database } from '../db/client';
import { CarebellError } from '../domain/errors';
import { excludedByTrigger } from '../domain/facts';
import { builtInJourneys } from '../journeys/built-in';
import type { JourneyDefinition } from '../journeys/schema';
import { clinicJourneys, enrollmentProblem } from './enroll';
import { publishProblems, PublishRefused } from './publish-journey';
import { sampleFacts, simulateJourney, type SimulationRequest, type Simulator } from './simulate';

export interface JourneySummary {
  key: string;
  version: number;
  name: string;
  category: JourneyDefinition['category'];
  trigger: string;
  goal: string;
  source: 'built-in' | 'clinic';
  active: boolean;
}

export function summarise(journey: JourneyDefinition, inactive: Set<string> = new Set()): JourneySummary {
  return {
    key: journey.key,
    version: journey.version,
    name: journey.name,
    category: journey.category,
    trigger: journey.trigger.event,
    goal: journey.goal.event,
    source: builtInJourneys().some((known) => known.key === journey.key && known.version === journey.version)
      ? 'built-in'
      : 'clinic',
    active: !inactive.has(journey.key),
  };
}

/** Every journey the clinic has (switched off or not), or undefined when there is no such clinic. */
export async function listClinicJourneys(
  db: Queryable,
  clinicId: string,
): Promise<{ summaries: JourneySummary[]; definitions: JourneyDefinition[] } | undefined> {
  if (!(await getClinic(db, clinicId))) return undefined;
  const definitions = await clinicJourneys(db, clinicId, { includeInactive: true });
  const inactive = await inactiveJourneyKeys(db, clinicId);
  return { summaries: definitions.map((journey) => summarise(journey, inactive)), definitions };
}

/**
 * Publishes a clinic's own version of a journey (already valid by the schema) once every message it can send
 * is writable and fits in every shipped language (publish-journey.ts); numbered after every earlier version.
 * Enrollments from now on use it; those in flight keep theirs. Refused with every problem.
 */
export async function publishJourney(
  db: Database,
  clinicId: string,
  definition: JourneyDefinition,
  options: { actor: string; publicUrl: string },
): Promise<JourneyDefinition> {
  const { actor } = options;
  const floor = builtInJourneys().find((journey) => journey.key === definition.key)?.version ?? 0;
  return withClinic(db, clinicId, async (tx) => {
    const clinic = await getClinic(tx, clinicId);
    if (!clinic) throw new CarebellError('PatientNotFound', `no clinic ${clinicId}`);
    const problems = publishProblems(definition, clinic, options.publicUrl);
    if (problems.length > 0) throw new PublishRefused(problems);
    const stored = await publishJourneyVersion(tx, clinicId, definition, floor);
    await appendAudit(tx, {
      actor,
      clinicId,
      action: 'journey.publish',
      objectType: 'journey',
      objectId: `${stored.key}@${stored.version}`,
      outcome: 'success',
    });
    return stored;
  });
}

/** Switches a journey on or off for the clinic; running enrollments finish as they are. */
export async function setJourneyActive(
  db: Database,
  clinicId: string,
  key: string,
  active: boolean,
  actor: string,
): Promise<boolean> {
  return withClinic(db, clinicId, async (tx) => {
    const known = await clinicJourneys(tx, clinicId, { includeInactive: true });
    if (!known.some((journey) => journey.key === key)) return false;
    await setJourneyActivation(tx, clinicId, key, active);
    await appendAudit(tx, {
      actor,
      clinicId,
      action: active ? 'journey.activate' : 'journey.deactivate',
      objectType: 'journey',
      objectId: key,
      outcome: 'success',
    });
    return true;
  });
}

/**
 * Previews a journey for a sample patient and trigger event on the time-skipping test server: what would be
 * sent, when, on which channel and in which language. Refuses an event the journey would refuse. Runs on
 * `simulator` when given (many previews, one server), else on a server of its own.
 */
export async function previewJourney(
  options: SimulationRequest & { testServerPath?: string },
  simulator?: Simulator,
) {
  const { definition, patient, event } = options;
  const starts = [definition.trigger.event, ...(definition.trigger.also ?? [])];
  if (!starts.includes(event.type))
    throw new CarebellError(
      'InvalidInput',
      `event.type: is "${event.type}" but journey ${definition.key} starts on "${starts.join('" or "')}"`,
    );
  const facts = sampleFacts(event, patient.timeZone);
  const problem = enrollmentProblem(definition, facts);
  if (problem) throw new CarebellError('InvalidInput', `event.${problem}`);
  if (excludedByTrigger(definition, facts))
    throw new CarebellError(
      'InvalidInput',
      `event: journey ${definition.key} does not start for this event: its trigger.unless holds`,
    );
  return simulator ? simulator.simulate(options) : simulateJourney(options);
}
