import fs from 'node:fs/promises';
import type { Config } from '../config';
import { clinicEvent, describeIssues } from '../journeys/events';
import { EventRejectedError, handleEvent } from '../runtime/enrollment';
import { clinicIdOption, withCarebell } from './connect';
import { CliError, printJson } from './output';

/** Acts on one EHR event, as the API will: starts the journeys it triggers and signals running ones. */
export async function eventsSendCommand(
  config: Config,
  options: { clinic: string; file: string; json?: boolean },
): Promise<void> {
  const clinicId = clinicIdOption(options.clinic);
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(options.file, 'utf8'));
  } catch (error) {
    throw new CliError(`cannot read the event file ${options.file}: ${(error as Error).message}`, 2);
  }
  const parsed = clinicEvent.safeParse(raw);
  if (!parsed.success)
    throw new CliError(`event file ${options.file}:\n  ${describeIssues(parsed.error).join('\n  ')}`, 2);

  const outcome = await withCarebell(config, (carebell) =>
    handleEvent(carebell, clinicId, parsed.data).catch((error: unknown) => {
      if (error instanceof EventRejectedError) throw new CliError(error.message, 2);
      throw error;
    }),
  );
  if (options.json) return printJson(outcome);
  for (const started of outcome.started) {
    process.stdout.write(
      `${started.created ? 'started' : 'already enrolled'}  ${started.journey} v${started.version}  ${started.workflowId}\n`,
    );
  }
  for (const signalled of outcome.signalled)
    process.stdout.write(`signalled  ${signalled.journey}  ${signalled.workflowId}\n`);
  if (outcome.started.length + outcome.signalled.length === 0)
    process.stdout.write(`no journey starts on ${parsed.data.type} and none is running for this patient\n`);
}
