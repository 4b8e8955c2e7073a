import { cacheDir, type Config } from '../config';
import { withClinic } from '../db/tenant';
import { CarebellError } from '../domain/errors';
import { builtInJourneys } from '../journeys/built-in';
import { eventFile, patientFile } from '../journeys/sample-inputs';
import { PublishRefused } from '../usecases/publish-journey';
import { validateJourney, type JourneyDefinition } from '../journeys/schema';
import { createLogger } from '../infra/logger';
import {
  listClinicJourneys,
  previewJourney,
  publishJourney,
  setJourneyActive,
  summarise,
} from '../usecases/journeys';
import { installTemporalRuntime } from '../infra/temporal-runtime';
import { resolveTestServer } from '../infra/temporal-binaries';
import { clinicIdOption, withCarebell } from './connect';
import { bySchema, CliError, printJson, progress, readInputFile } from './output';

/** Built-in journeys, or with --clinic the ones that clinic runs (its own versions replace built-ins). */
export async function journeysListCommand(
  config: Config,
  options: { clinic?: string; json?: boolean },
): Promise<void> {
  const journeys = options.clinic
    ? await withCarebell(config, async ({ db }) => {
        const clinicId = clinicIdOption(options.clinic!);
        const listed = await withClinic(db, clinicId, (tx) => listClinicJourneys(tx, clinicId));
        if (!listed) throw new CliError(`no clinic ${clinicId}`, 2);
        return listed.summaries;
      })
    : builtInJourneys().map((journey) => summarise(journey));
  if (options.json) return printJson(journeys);
  for (const journey of journeys) {
    process.stdout.write(
      `${journey.key.padEnd(24)} v${String(journey.version).padEnd(3)} ${journey.source.padEnd(9)} ${(journey.active ? 'active' : 'off').padEnd(7)}${journey.category.padEnd(13)} ${journey.trigger} -> ${journey.goal}  ${journey.name}\n`,
    );
  }
}

export async function journeysPublishCommand(
  config: Config,
  options: { clinic: string; file: string; json?: boolean },
): Promise<void> {
  const clinicId = clinicIdOption(options.clinic);
  const definition = await loadDefinition(options.file);
  const published = await withCarebell(config, ({ db }) =>
    publishJourney(db, clinicId, definition, {
      actor: 'cli:journeys-publish',
      publicUrl: config.publicUrl,
    }).catch((error: unknown) => {
      if (error instanceof PublishRefused)
        throw new CliError(`${options.file}:\n  ${error.problems.join('\n  ')}`, 2);
      if (error instanceof CarebellError && !error.retryable)
        throw new CliError(`${options.file}: ${error.message}`, 2);
      throw error;
    }),
  );
  if (options.json) return printJson({ clinicId, key: published.key, version: published.version });
  process.stdout.write(`published ${published.key} v${published.version} for clinic ${clinicId}\n`);
}

/** Switches a journey on or off for a clinic. */
export async function journeysActivateCommand(
  config: Config,
  key: string,
  active: boolean,
  options: { clinic: string; json?: boolean },
): Promise<void> {
  const clinicId = clinicIdOption(options.clinic);
  const found = await withCarebell(config, ({ db }) =>
    setJourneyActive(db, clinicId, key, active, `cli:journeys-${active ? 'activate' : 'deactivate'}`),
  );
  if (!found) throw new CliError(`clinic ${clinicId} has no journey ${key}`, 2);
  if (options.json) return printJson({ clinicId, key, active });
  process.stdout.write(`${key} is now ${active ? 'active' : 'switched off'} for clinic ${clinicId}\n`);
}

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
  const testServer = await resolveTestServer({
    cacheRoot: cacheDir(),
    explicitPath: config.embedded.temporalTestServerPath,
    progress,
  });
  installTemporalRuntime(createLogger('error'));
  progress(`simulating ${definition.key} v${definition.version} on the time-skipping test server…`);
  const { outcome, timeline } = await previewJourney({
    definition,
    patient,
    event,
    clinic: { publicUrl: config.publicUrl },
    testServerPath: testServer.path,
  }).catch((error: unknown) => {
    if (error instanceof CarebellError && error.type === 'InvalidInput') throw new CliError(error.message, 2);
    throw error;
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
