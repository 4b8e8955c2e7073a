// Records one history per built-in journey into test/support/histories/, for the replay test that
// catches non-deterministic changes to the interpreter. Run after an intended, compatible change:
//   npx tsx test/support/record-histories.ts
import fs from 'node:fs/promises';
import path from 'node:path';
import { builtInJourneys } from '../../journeys/built-in';
import { eventFile, patientFile } from '../../journeys/sample-inputs';
import { simulateJourney } from '../../usecases/simulate';
import { cacheDir } from '../../config';
import { resolveTestServer } from '../../infra/temporal-binaries';

const examples = path.join(import.meta.dirname, '..', '..', 'examples');
const out = path.join(import.meta.dirname, 'histories');
await fs.mkdir(out, { recursive: true });
const testServer = await resolveTestServer({ cacheRoot: cacheDir(), progress: console.log });
for (const definition of builtInJourneys()) {
  const read = async (name: string): Promise<unknown> =>
    JSON.parse(await fs.readFile(path.join(examples, definition.key, name), 'utf8'));
  // The CLI's own file schemas, so recordings see exactly what `carebell simulate` sees.
  const patient = patientFile.parse(await read('patient.json'));
  const event = eventFile.parse(await read('event.json'));
  const { history } = await simulateJourney({
    definition,
    patient,
    event,
    testServerPath: testServer.path,
  });
  await fs.writeFile(path.join(out, `${definition.key}.json`), JSON.stringify(history));
  console.log(`recorded ${definition.key}`);
}
process.exit(0);
