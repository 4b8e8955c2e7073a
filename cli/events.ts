import type { Config } from '../config';
import { isFailureOf } from '../domain/errors';
import { clinicEvent } from '../journeys/events';
import { handleEvent } from '../usecases/handle-event';
import { clinicIdOption, withCarebell } from './connect';
import { bySchema, CliError, printJson, readInputFile } from './output';

/** Acts on one EHR event, as the API will: starts the journeys it triggers and signals running ones. */
export async function eventsSendCommand(
  config: Config,
  options: { clinic: string; file: string; json?: boolean },
): Promise<void> {
  const clinicId = clinicIdOption(options.clinic);
  const event = await readInputFile(options.file, 'event', bySchema(clinicEvent, '(event)'));

  const outcome = await withCarebell(config, (carebell) =>
    handleEvent(carebell, clinicId, event, 'cli:events-send').catch((error: unknown) => {
      if (isFailureOf(error, 'EventRejected') || isFailureOf(error, 'PatientNotFound'))
        throw new CliError((error as Error).message, 2);
      throw error;
    }),
  );
  if (options.json) return printJson(outcome);
  if (outcome.repeat)
    process.stdout.write('this event (same eventId) was acted on before: nothing signalled again\n');
  for (const started of outcome.started) {
    process.stdout.write(
      `${started.created ? 'started' : 'already enrolled'}  ${started.journey} v${started.version}  ${started.workflowId}\n`,
    );
  }
  for (const signalled of outcome.signalled)
    process.stdout.write(`signalled  ${signalled.journey}  ${signalled.workflowId}\n`);
  if (outcome.started.length + outcome.signalled.length === 0)
    process.stdout.write(`no journey starts on ${event.type} and none is running for this patient\n`);
}
