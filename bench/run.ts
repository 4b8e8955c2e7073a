// `npm run bench`: how fast carebell's workflows complete, as ratios against a raw Temporal workflow with
// one no-op activity, measured in the same run on the same throw-away PostgreSQL and Temporal dev server.
// These machines are noisy: absolute rates move from run to run, the ratios much less.
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { DateTime } from 'luxon';
import { cacheDir, loadConfig } from '../config';
import { connectDatabase } from '../db/client';
import { insertClinic } from '../db/queries/clinics';
import { insertPatient } from '../db/queries/patients';
import { withClinic } from '../db/tenant';
import { daytimeZone } from '../test/support/daytime-zone';
import { sendNow } from '../test/support/journeys';
import { createLogger } from '../infra/logger';
import { startServices } from '../infra/services';
import { enroll } from '../usecases/enroll';
import { startReminder } from '../usecases/start-workflows';
import { resolveTemporalCli } from '../infra/temporal-binaries';
import { temporalConnectionOptions } from '../infra/temporal-connection';
import { installTemporalRuntime } from '../infra/temporal-runtime';
import { startWorker } from '../worker/start-worker';
import { createDataConverter } from '../security/data-converter';
import { FieldCipher } from '../security/field-cipher';
import { buildKeyRing } from '../security/key-ring';
import type { journeyWorkflow } from '../workflows/journey';

const { values: options } = parseArgs({
  options: {
    workflows: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '50' },
    json: { type: 'boolean', default: false },
  },
});
const count = (flag: keyof typeof options) => {
  const value = Number(options[flag]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${flag} must be a whole number ≥ 1`);
  return value;
};
const [workflows, rounds, concurrency] = [count('workflows'), count('rounds'), count('concurrency')];
const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);
installTemporalRuntime(createLogger('error'));

/** Runs `total` workflows, at most `concurrency` at a time; resolves to completions per second. */
async function throughput(total: number, run: (index: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) await run(next++);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'carebell-bench-'));
const cli = await resolveTemporalCli({
  cacheRoot: cacheDir(),
  explicitPath: process.env.TEMPORAL_CLI_PATH,
  progress: say,
});
const config = loadConfig({ CAREBELL_DATA_DIR: dataDir, TEMPORAL_CLI_PATH: cli.path });
const services = await startServices(config, { persistent: false, fixedPorts: false, progress: say });
const stops: (() => Promise<unknown>)[] = [
  services.stop,
  () => fs.rm(dataDir, { recursive: true, force: true }),
];
try {
  const { endpoints } = services;
  const keyRing = buildKeyRing([{ id: 'bench', key: randomBytes(32) }], randomBytes(32));
  const dataConverter = createDataConverter(keyRing);
  const carebell = await startWorker(endpoints, {
    publicUrl: 'https://carebell.bench',
    log: createLogger('silent'),
    keyRing,
  });
  stops.push(carebell.shutdown);

  const nativeConnection = await NativeConnection.connect(temporalConnectionOptions(endpoints.temporal));
  const rawWorkers = await Promise.all(
    [undefined, dataConverter].map((converter, index) =>
      Worker.create({
        connection: nativeConnection,
        taskQueue: `bench-raw-${index}`,
        workflowsPath: fileURLToPath(new URL('./workflows/raw.ts', import.meta.url)),
        activities: { noop: (input: string) => Promise.resolve(input) },
        dataConverter: converter,
      }),
    ),
  );
  const rawRuns = rawWorkers.map((worker) => worker.run());
  stops.push(async () => {
    for (const worker of rawWorkers) worker.shutdown();
    await Promise.all(rawRuns);
    await nativeConnection.close();
  });
  const connection = await Connection.connect(temporalConnectionOptions(endpoints.temporal));
  stops.push(() => connection.close());
  const plain = new Client({ connection });
  const encrypted = new Client({ connection, dataConverter });

  // Every bench send is due now and passes every rule: its own patient and number (the caps allow one a
  // day), in a zone where it is daytime (the window is 08:00-21:00 local at the widest).
  const database = connectDatabase(endpoints.databaseUrl, { max: 4 });
  stops.push(database.close);
  const cipher = new FieldCipher(keyRing);
  const clinicId = randomUUID();
  const zone = daytimeZone;
  const sends = (Math.min(20, workflows) + workflows * rounds) * 2;
  const patientIds = await withClinic(database.db, clinicId, async (tx) => {
    await insertClinic(tx, { id: clinicId, name: 'Bench Clinic', timeZone: zone });
    const ids: string[] = [];
    for (let index = 0; index < sends; index++) {
      const profile = {
        name: `Bench Patient ${index}`,
        dateOfBirth: '1970-01-01',
        language: 'en',
        timeZone: zone,
        preferredChannel: 'sms' as const,
      };
      const phone = `+1415${String(2_000_000 + index).padStart(7, '0')}`;
      ids.push(
        await insertPatient(tx, cipher, 'bench', clinicId, profile, [{ channel: 'sms', address: phone }]),
      );
    }
    return ids;
  });
  let used = 0;
  const nextPatient = () => {
    const id = patientIds[used++];
    if (!id) throw new Error('the bench ran out of patients');
    return id;
  };
  const enrollment = { db: database.db, cipher, client: encrypted, taskQueue: endpoints.temporal.taskQueue };
  const expectSent = (status: string) => {
    if (status !== 'sent' && status !== 'delivered') throw new Error(`a bench send ended ${status}`);
  };

  const rawWorkflow = (client: Client, taskQueue: string) => async () => {
    await client.workflow.execute('rawWorkflow', {
      taskQueue,
      workflowId: `raw-${randomUUID()}`,
      args: ['x'],
    });
  };
  const scenarios: { name: string; run: (index: number) => Promise<void> }[] = [
    { name: 'raw workflow, one no-op activity (baseline)', run: rawWorkflow(plain, 'bench-raw-0') },
    { name: 'raw workflow, encrypted payloads', run: rawWorkflow(encrypted, 'bench-raw-1') },
    {
      name: 'reminder: rules, delivery row, SMS, audit',
      run: async () => {
        const handle = await startReminder(encrypted, endpoints.temporal.taskQueue, {
          clinicId,
          patientId: nextPatient(),
          journey: 'bench',
          episode: randomUUID(),
          template: 'reminder',
          due: { kind: 'after', milliseconds: 0 },
        });
        expectSent((await handle.result()).status);
      },
    },
    {
      name: 'journey: enrolled, one send step, end recorded',
      run: async () => {
        const enrolled = await enroll(enrollment, {
          clinicId,
          patientId: nextPatient(),
          journey: sendNow('bench'),
          anchorDate: DateTime.utc().toISODate(),
          occurrence: randomUUID(),
        });
        const handle = encrypted.workflow.getHandle<typeof journeyWorkflow>(enrolled.workflowId);
        expectSent((await handle.result()).timeline[0]?.outcome ?? 'missing');
      },
    },
  ];

  say(`warming up, then ${rounds} rounds of ${workflows} workflows per scenario, ${concurrency} at a time`);
  for (const scenario of scenarios) await throughput(Math.min(20, workflows), scenario.run);
  const rates = new Map(scenarios.map((scenario) => [scenario.name, [] as number[]]));
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of scenarios) {
      const rate = await throughput(workflows, scenario.run);
      rates.get(scenario.name)!.push(rate);
      say(`round ${round}: ${scenario.name}: ${rate.toFixed(1)}/s`);
    }
  }

  const baseline = median(rates.get(scenarios[0]!.name)!);
  const results = scenarios.map((scenario) => {
    const perSecond = median(rates.get(scenario.name)!);
    return {
      scenario: scenario.name,
      perSecond: Number(perSecond.toFixed(1)),
      ratio: Number((perSecond / baseline).toFixed(2)),
    };
  });
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ workflows, rounds, concurrency, cpus: os.cpus().length, results }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(
      `\nworkflows completed per second, median of ${rounds} rounds of ${workflows} (${os.cpus().length} cores)\n\n`,
    );
    process.stdout.write(`${'scenario'.padEnd(48)} ${'per second'.padStart(10)} ${'vs raw'.padStart(7)}\n`);
    for (const result of results) {
      process.stdout.write(
        `${result.scenario.padEnd(48)} ${result.perSecond.toFixed(1).padStart(10)} ${result.ratio.toFixed(2).padStart(7)}\n`,
      );
    }
  }
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
}
process.exit(0);
