import { IANAZone } from 'luxon';
import { z } from 'zod';
import { cacheDir, type Config } from '../config';
import { getClinic } from '../db/queries/clinics';
import { withClinic } from '../db/tenant';
import { builtInJourneys } from '../journeys/built-in';
import { excludedByTrigger } from '../domain/facts';
import { clinicJourneys, enrollmentProblem } from '../usecases/enroll';
import { validateJourney, type JourneyDefinition } from '../journeys/schema';
import { createLogger } from '../infra/logger';
import { publishJourney, PublishRefused } from '../usecases/publish-journey';
import { sampleFacts, simulateJourney } from '../usecases/simulate';
import { installTemporalRuntime } from '../infra/temporal-runtime';
import { resolveTestServer } from '../infra/temporal-binaries';
import { clinicIdOption, withCarebell } from './connect';
import { bySchema, CliError, printJson, progress, readInputFile } from './output';

/** Built-in journeys, or with --clinic the ones that clinic runs (its own versions replace built-ins). */
export async function journeysListCommand(
  config: Config,
  options: { clinic?: string; json?: boolean },
): Promise<void> {
  const builtIn = builtInJourneys();
  const definitions = options.clinic
    ? await withCarebell(config, ({ db }) => {
        const clinicId = clinicIdOption(options.clinic!);
        return withClinic(db, clinicId, async (tx) => {
          if (!(await getClinic(tx, clinicId))) throw new CliError(`no clinic ${clinicId}`, 2);
          return clinicJourneys(tx, clinicId);
        });
      })
    : builtIn;
  const journeys = definitions.map((journey) => ({
    key: journey.key,
    version: journey.version,
    name: journey.name,
    category: journey.category,
    trigger: journey.trigger.event,
    goal: journey.goal.event,
    source: builtIn.some((known) => known.key === journey.key && known.version === journey.version)
      ? 'built-in'
      : 'clinic',
  }));
  if (options.json) return printJson(journeys);
  for (const journey of journeys) {
    process.stdout.write(
      `${journey.key.padEnd(24)} v${String(journey.version).padEnd(3)} ${journey.source.padEnd(9)} ${journey.category.padEnd(13)} ${journey.trigger} -> ${journey.goal}  ${journey.name}\n`,
    );
  }
}

/** Publishes a clinic's own version of a journey (usecases/publish-journey.ts says what is checked). */
export async function journeysPublishCommand(
  config: Config,
  options: { clinic: string; file: string; json?: boolean },
): Promise<void> {
  const clinicId = clinicIdOption(options.clinic);
  const definition = await loadDefinition(options.file);
  const published = await withCarebell(config, ({ db }) =>
    withClinic(db, clinicId, async (tx) => {
      const clinic = await getClinic(tx, clinicId);
      if (!clinic) throw new CliError(`no clinic ${clinicId}`, 2);
      try {
        return await publishJourney(tx, {
          clinic,
          definition,
          publicUrl: config.publicUrl,
          actor: 'cli:journeys-publish',
        });
      } catch (error) {
        if (!(error instanceof PublishRefused)) throw error;
        throw new CliError(`${options.file}:\n  ${error.problems.join('\n  ')}`, 2);
      }
    }),
  );
  if (options.json) return printJson({ clinicId, key: published.key, version: published.version });
  process.stdout.write(`published ${published.key} v${published.version} for clinic ${clinicId}\n`);
}

const channel = z.enum(['sms', 'email']);
export const patientFile = z
  .object({
    timeZone: z
      .string()
      .refine((zone) => IANAZone.isValidZone(zone), 'must be an IANA time zone such as America/New_York'),
    language: z
      .string()
      .regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/, 'must be a BCP 47 language tag such as es or es-MX'),
    preferredChannel: channel.default('sms'),
    channels: z.array(channel).min(1).optional(),
    marketingOptIn: z.boolean().default(false),
  })
  .strict()
  .transform((patient) => ({ ...patient, channels: patient.channels ?? [patient.preferredChannel] }));

export const eventFile = z
  .object({
    type: z.string().min(1),
    anchorDate: z.iso.date().optional(),
    anchorInDays: z.number().int().min(-3650).max(3650).optional(),
    facts: z.record(z.string(), z.string()).optional(),
    /** Date facts as days from the start of the simulation, e.g. { "januaryDeadline": 44 }. */
    datesInDays: z.record(z.string(), z.number().int().min(-3650).max(3650)).optional(),
    then: z
      .array(
        z
          .object({
            after: z.string().regex(/^P/, 'an ISO-8601 duration such as P10D'),
            event: z.string().min(1),
          })
          .strict(),
      )
      .optional(),
  })
  .strict()
  .refine((event) => (event.anchorDate === undefined) !== (event.anchorInDays === undefined), {
    message: 'give exactly one of anchorDate and anchorInDays',
  });

/** A built-in journey by key, or a definition file. */
async function loadDefinition(keyOrFile: string): Promise<JourneyDefinition> {
  const builtIn = builtInJourneys().find((journey) => journey.key === keyOrFile);
  if (builtIn) return builtIn;
  return readInputFile(keyOrFile, 'journey (not a built-in key either)', validateJourney);
}

export async function simulateCommand(
  config: Config,
  options: { journey: string; patient: string; event: string; json?: boolean },
): Promise<void> {
  const definition = await loadDefinition(options.journey);
  const patient = await readInputFile(options.patient, 'patient', bySchema(patientFile, '(patient)'));
  const event = await readInputFile(options.event, 'event', bySchema(eventFile, '(event)'));
  const starts = [definition.trigger.event, ...(definition.trigger.also ?? [])];
  if (!starts.includes(event.type)) {
    throw new CliError(
      `the event is "${event.type}" but journey ${definition.key} starts on "${starts.join('" or "')}"`,
      2,
    );
  }
  const facts = sampleFacts(event, patient.timeZone);
  const problem = enrollmentProblem(definition, facts);
  if (problem) throw new CliError(`(event) ${problem}`, 2);
  if (excludedByTrigger(definition, facts)) {
    throw new CliError(
      `journey ${definition.key} does not start for this event: its trigger.unless holds`,
      2,
    );
  }
  const testServer = await resolveTestServer({
    cacheRoot: cacheDir(),
    explicitPath: config.embedded.temporalTestServerPath,
    progress,
  });
  installTemporalRuntime(createLogger('error'));
  progress(`simulating ${definition.key} v${definition.version} on the time-skipping test server…`);
  const { outcome, timeline } = await simulateJourney({
    definition,
    patient,
    event,
    clinic: { publicUrl: config.publicUrl },
    testServerPath: testServer.path,
  });
  if (options.json) return printJson(timeline);
  for (const entry of timeline) {
    const what = entry.channel ? `${entry.channel}/${entry.language}` : '-';
    process.stdout.write(
      `${entry.localTime.padEnd(26)} ${entry.step.padEnd(22)} ${entry.outcome.padEnd(10)} ${what.padEnd(9)}` +
        `${entry.variant ? ` variant ${entry.variant}` : ''}${entry.languageFallback ? ' (language fallback)' : ''}` +
        `${entry.reason ? ` (${entry.reason})` : ''}\n`,
    );
    if (entry.text) process.stdout.write(`${entry.text.replace(/^/gm, '    ')}\n`);
  }
  process.stdout.write(`journey ${outcome}\n`);
}
