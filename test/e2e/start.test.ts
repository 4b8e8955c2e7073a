// `npm start` as a user runs it: ready line, the CLI demo for SMS and email, a clean SIGTERM with no
// process left behind, and a second start on the same data dir that still has the earlier work.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { DateTime } from 'luxon';
import { connectDatabase } from '../../db/client';
import { getDeliveryByKey } from '../../db/queries/deliveries';
import { freePort } from '../../infra/free-port';
import { runCarebell, tempDir } from '../support/harness';
import { CANARY, canaryForms } from '../support/phi-canary';
import { daytimeZone } from '../support/fixtures';
import { listening } from '../support/ports';

// The embedded default's fixed ports, picked where no ephemeral (port 0) bind can take them first.
const FIXED_PORTS = { from: 20000, to: 32000 };

interface Started {
  child: ChildProcess;
  output: string[];
}

describe('npm start (embedded default)', () => {
  let dataDir: string;
  let env: Record<string, string | undefined>;
  const running = new Set<ChildProcess>();

  before(async () => {
    dataDir = await tempDir('start');
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      XDG_CACHE_HOME: process.env.XDG_CACHE_HOME,
      TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH,
      CAREBELL_DATA_DIR: dataDir,
      CAREBELL_POSTGRES_PORT: String(await freePort(FIXED_PORTS)),
      CAREBELL_TEMPORAL_PORT: String(await freePort(FIXED_PORTS)),
      CAREBELL_TEMPORAL_UI_PORT: String(await freePort(FIXED_PORTS)),
      CAREBELL_SMS_PEER_PORT: String(await freePort(FIXED_PORTS)),
      CAREBELL_SMTP_PEER_PORT: String(await freePort(FIXED_PORTS)),
      CAREBELL_CODEC_PORT: String(await freePort(FIXED_PORTS)),
      CAREBELL_PUBLIC_URL: `http://localhost:${await freePort(FIXED_PORTS)}`,
      // The most verbose level: PHI must stay out of every line at any level.
      LOG_LEVEL: 'trace',
      // The sweeps run at 06:00 UTC: one then would enroll the demo patients (65, colorectal screening
      // due) and spend their one message a day before the demo's own.
      CAREBELL_SWEEPS: 'paused',
    };
  });
  after(async () => {
    // A failed assertion must not leave a carebell (and its PostgreSQL) running.
    for (const child of running) await stop({ child, output: [] });
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<Started> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'processes/start.ts'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    const output: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready after 120s:\n${output.join('')}`)), 120_000);
      const collect = (chunk: Buffer) => {
        output.push(chunk.toString());
        if (/^carebell ready/m.test(output.join(''))) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.once('exit', (code) =>
        reject(new Error(`exited with ${code} before ready:\n${output.join('')}`)),
      );
    });
    return { child, output };
  }

  async function stop({ child }: Started): Promise<number | null> {
    if (child.exitCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    return exited;
  }

  const carebell = (...args: string[]) => runCarebell(args, env);

  // Each demo is its own patient and number: the frequency caps (1 a day per patient and per number)
  // would rightly hold a second reminder to the same one until tomorrow. The first is the canary.
  const demo = (channel: 'sms' | 'email', n: number) =>
    carebell(
      'demo',
      'remind',
      '--name',
      CANARY.name,
      '--phone',
      n === 0 ? CANARY.phone : `+1415555090${n}`,
      '--email',
      n === 0 ? CANARY.email : `demo${n}@example.org`,
      '--time-zone',
      daytimeZone,
      '--dob',
      CANARY.dateOfBirth,
      '--language',
      'es',
      '--channel',
      channel,
      '--in',
      '1s',
      '--wait',
      '--json',
    );

  it('refuses a demo when nothing is running, saying why', async () => {
    const result = await demo('sms', 0);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no carebell is running on .*: start one with `npm start`/);
  });

  it('runs, sends by SMS and email through the CLI, stops cleanly and keeps its state', async () => {
    const first = await start();
    const sms = await demo('sms', 0);
    assert.equal(sms.code, 0, sms.stderr);
    const smsResult = JSON.parse(sms.stdout) as {
      workflowId: string;
      clinicId: string;
      delivery: { status: string; channel: string; providerMessageId: string };
      atPeer: boolean;
    };
    assert.equal(smsResult.delivery.status, 'sent');
    assert.equal(smsResult.delivery.channel, 'sms');
    assert.equal(smsResult.atPeer, true);

    const email = await demo('email', 1);
    assert.equal(email.code, 0, email.stderr);
    const emailResult = JSON.parse(email.stdout) as { delivery: { channel: string }; atPeer: boolean };
    assert.equal(emailResult.delivery.channel, 'email');
    assert.equal(emailResult.atPeer, true);

    // The data dir is this user's (as root, the postgres group may pass through to its cluster).
    const dataDirMode = (await fs.stat(dataDir)).mode & 0o777;
    assert.equal(dataDirMode, process.getuid?.() === 0 ? 0o710 : 0o700, dataDirMode.toString(8));
    for (const secret of ['keyring.json', 'operator-token', 'runtime.json'])
      assert.equal((await fs.stat(path.join(dataDir, secret))).mode & 0o777, 0o600, secret);
    for (const entry of await fs.readdir(path.join(dataDir, 'peers'), {
      recursive: true,
      withFileTypes: true,
    })) {
      const mode = (await fs.stat(path.join(entry.parentPath, entry.name))).mode & 0o777;
      assert.equal(mode, entry.isDirectory() ? 0o700 : 0o600, `peers/${entry.name}`);
    }

    const verified = await carebell('audit', 'verify', '--json');
    assert.equal(verified.code, 0, verified.stderr);
    assert.ok(
      (JSON.parse(verified.stdout) as { rows: number }).rows >= 4,
      'creates, reads and sends were audited',
    );
    const rotated = await carebell('keys', 'rotate', '--json');
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.ok(
      (JSON.parse(rotated.stdout) as { total: number }).total >= 4,
      'name, birth date, phone and email',
    );
    // The running worker has never seen the new key: it picks it up from the data dir on first use
    // (this patient is written under it).
    const afterRotation = await demo('email', 2);
    assert.equal(afterRotation.code, 0, afterRotation.stderr);

    const runtime = JSON.parse(await fs.readFile(path.join(dataDir, 'runtime.json'), 'utf8')) as {
      ownerDatabaseUrl: string;
    };
    assert.equal(await stop(first), 0, first.output.join(''));
    assert.match(first.output.join(''), /carebell: stopped/);
    await assertNothingLeft(dataDir, env);

    const second = await start();
    // Asserted after the finally: a failure inside must not be hidden by one of the stop.
    let secondExit: number | null;
    try {
      const connection = await Connection.connect({ address: `127.0.0.1:${env.CAREBELL_TEMPORAL_PORT}` });
      const description = await new Client({ connection }).workflow
        .getHandle(smsResult.workflowId)
        .describe();
      await connection.close();
      assert.equal(description.status.name, 'COMPLETED');
      const database = connectDatabase(runtime.ownerDatabaseUrl, { max: 1, as: 'owner' });
      const delivery = await getDeliveryByKey(
        database.db,
        smsResult.clinicId,
        `${smsResult.workflowId}:send`,
      );
      await database.close();
      assert.equal(delivery?.providerMessageId, smsResult.delivery.providerMessageId);
      // Workers started after the rotation send under the new key.
      const again = await demo('sms', 3);
      assert.equal(again.code, 0, again.stderr);
    } finally {
      secondExit = await stop(second);
    }
    assert.equal(secondExit, 0, second.output.join(''));
    await assertNothingLeft(dataDir, env);

    // Nothing the engine keeps or prints holds the patient's details; only the peers (standing for the
    // outside world: the phone and the mailbox) do.
    const printed = [
      ...first.output,
      ...second.output,
      sms.stdout,
      sms.stderr,
      email.stdout,
      email.stderr,
    ].join('');
    for (const form of canaryForms) assert.ok(!printed.includes(form), `${form} was printed`);
    const leaks = await filesContaining(dataDir, canaryForms, path.join(dataDir, 'peers'));
    assert.deepEqual(leaks, [], 'no file outside peers/ holds PHI');
    assert.ok(
      (await filesContaining(path.join(dataDir, 'peers'), [CANARY.phone])).length > 0,
      'the SMS peer got it',
    );
  });

  // One start for both: each costs seconds of CPU, and neither needs a carebell of its own.
  describe('a third start, shared by the journeys and the API path', () => {
    let started: Started;
    before(async () => {
      started = await start();
    });
    after(async () => {
      if (started) assert.equal(await stop(started), 0, started.output.join(''));
    });

    it('runs journeys through the CLI: publish a clinic version, send EHR events, run a sweep', async () => {
      const demoRun = await demo('sms', 4);
      assert.equal(demoRun.code, 0, demoRun.stderr);
      const { clinicId, patientId } = JSON.parse(demoRun.stdout) as { clinicId: string; patientId: string };
      const json = async (...args: string[]) => {
        const result = await carebell(...args, '--json');
        assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
        return JSON.parse(result.stdout) as unknown;
      };
      const file = async (name: string, content: unknown) => {
        const written = path.join(dataDir, name);
        await fs.writeFile(written, JSON.stringify(content));
        return written;
      };

      const edited = {
        ...(JSON.parse(await fs.readFile('journeys/built-in/refill.json', 'utf8')) as object),
        name: 'Refill (clinic edit)',
      };
      const publish = [
        'journeys',
        'publish',
        '--clinic',
        clinicId,
        '--file',
        await file('refill.json', edited),
      ];
      assert.deepEqual(await json(...publish), { clinicId, key: 'refill', version: 3 });
      // A clinic's own words that would not fit: refused, naming the template and the language.
      const tooLong = await carebell(
        'journeys',
        'publish',
        '--clinic',
        clinicId,
        '--file',
        await file('refill-too-long.json', {
          ...edited,
          texts: { 'zh-Hant': { 'refill-soon': { sms: `{{clinic}}：${'請'.repeat(150)} {{link}}` } } },
        }),
      );
      assert.equal(tooLong.code, 2);
      assert.match(tooLong.stderr, /template "refill-soon" in zh-Hant: its SMS takes up to \d+ segments/);
      const listed = (await json('journeys', 'list', '--clinic', clinicId)) as {
        key: string;
        version: number;
        source: string;
      }[];
      assert.deepEqual(
        listed.map((journey) => [journey.key, journey.version, journey.source]),
        [
          ['appointment-reminder', 1, 'built-in'],
          ['insurance-reenrollment', 2, 'built-in'],
          ['medicaid-renewal', 1, 'built-in'],
          ['re-engagement', 2, 'built-in'],
          ['refill', 3, 'clinic'],
          ['screening', 2, 'built-in'],
        ],
      );

      const dispensed = await file('dispensed.json', {
        type: 'medication.dispensed',
        patient: { id: patientId },
        eventId: 'dispense-1',
        subject: 'rx-1',
        anchorDate: DateTime.utc().plus({ days: 30 }).toISODate(),
        facts: { daysSupply: '30', refillsRemaining: '2' },
      });
      const send = ['events', 'send', '--clinic', clinicId, '--file', dispensed];
      const first = (await json(...send)) as {
        started: { journey: string; version: number; created: boolean }[];
      };
      assert.deepEqual(
        first.started.map((started) => [started.journey, started.version, started.created]),
        [['refill', 3, true]],
      );
      const again = (await json(...send)) as { started: { created: boolean }[] };
      assert.equal(again.started[0]?.created, false, 'a repeated event finds the running journey');

      const noAnchor = await file('no-anchor.json', {
        type: 'medication.dispensed',
        patient: { id: patientId },
      });
      const refused = await carebell('events', 'send', '--clinic', clinicId, '--file', noAnchor);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /anchorDate: medication.dispensed starts refill \(refillDueDate\)/);
      const malformed = await file('malformed.json', { type: 'Dispensed', patient: {} });
      const invalid = await carebell('events', 'send', '--clinic', clinicId, '--file', malformed);
      assert.equal(invalid.code, 2);
      assert.match(invalid.stderr, /type: event names look like medication.dispensed/);

      // A state exchange's dates, stored for the clinic; a bad file is refused naming the field.
      const stateDates = {
        openEnrollment: { opensOn: '11-01', januaryDeadline: '12-31', closesOn: '01-31' },
      };
      const settingsFile = await file('settings.json', { ...stateDates, defaultLanguage: 'es-us' });
      assert.deepEqual(await json('clinics', 'settings', '--clinic', clinicId, '--file', settingsFile), {
        ...stateDates,
        lapsedAfterMonths: 12,
        defaultLanguage: 'es-US',
        smsMaxSegments: 3,
      });
      assert.deepEqual(
        ((await json('clinics', 'settings', '--clinic', clinicId)) as typeof stateDates).openEnrollment,
        stateDates.openEnrollment,
      );
      const badSettings = await file('bad-settings.json', { lapsedAfterMonths: 0 });
      const refusedSettings = await carebell(
        'clinics',
        'settings',
        '--clinic',
        clinicId,
        '--file',
        badSettings,
      );
      assert.equal(refusedSettings.code, 2);
      assert.match(refusedSettings.stderr, /lapsedAfterMonths: /);

      const sweepStates = async () =>
        ((await json('sweeps', 'list')) as { key: string; scheduleId: string | null; paused: boolean }[]).map(
          (sweep) => [sweep.key, sweep.scheduleId !== null, sweep.paused],
        );
      assert.deepEqual(
        await sweepStates(),
        [
          ['screening-check', true, true],
          ['open-enrollment', true, true],
          ['medicaid-renewal', true, true],
          ['lapsed-patients', true, true],
        ],
        'the worker keeps a schedule per sweep, created paused (CAREBELL_SWEEPS=paused)',
      );
      assert.deepEqual(await json('sweeps', 'resume', 'open-enrollment'), [
        { key: 'open-enrollment', paused: false },
      ]);
      assert.deepEqual(
        (await sweepStates()).map(([key, , paused]) => [key, paused]),
        [
          ['screening-check', true],
          ['open-enrollment', false],
          ['medicaid-renewal', true],
          ['lapsed-patients', true],
        ],
      );
      assert.equal(((await json('sweeps', 'pause')) as unknown[]).length, 4, 'none named: every sweep');
      assert.ok((await sweepStates()).every(([, , paused]) => paused));
      const pauseUnknown = await carebell('sweeps', 'pause', 'nightly');
      assert.equal(pauseUnknown.code, 2);
      assert.match(pauseUnknown.stderr, /no sweep "nightly"/);
      // The demo patient is 65: colorectal screening is due. A paused schedule still runs on demand.
      const swept = (await json('sweeps', 'run', 'screening-check', '--wait')) as {
        scanned: number;
        enrolled: number;
      };
      assert.ok(swept.scanned >= 1 && swept.enrolled >= 1, JSON.stringify(swept));
      const unknown = await carebell('sweeps', 'run', 'nightly');
      assert.equal(unknown.code, 2);
      assert.match(
        unknown.stderr,
        /no sweep "nightly"; known: screening-check, open-enrollment, medicaid-renewal, lapsed-patients/,
      );
    });

    it("walks the README's API path: a clinic and a key, a CSV import, a FHIR bundle, an event, the report", async () => {
      const api = env.CAREBELL_PUBLIC_URL!;
      assert.match(started.output.join(''), new RegExp(`API +http://127.0.0.1:${new URL(api).port}`));
      const json = async (...args: string[]) => {
        const result = await carebell(...args, '--json');
        assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
        return JSON.parse(result.stdout) as Record<string, unknown>;
      };
      const clinic = await json(
        'clinics',
        'create',
        '--name',
        'Riverside Family Medicine',
        '--display-name',
        'Riverside Clinic',
        '--time-zone',
        'America/Chicago',
        '--contact-phone',
        '+13125550100',
      );
      const clinicId = String(clinic.id);
      const { key } = await json(
        'api-keys',
        'create',
        '--clinic',
        clinicId,
        '--name',
        'EHR interface',
        '--scopes',
        'ehr:write,patients:read,patients:write,journeys:admin,reports:read',
      );
      const auth = { authorization: `Bearer ${String(key)}` };
      const request = async (
        method: string,
        route: string,
        body?: string,
        type = 'application/json',
        extra = {},
      ) => {
        const response = await fetch(`${api}${route}`, {
          method,
          headers: { ...auth, ...(body === undefined ? {} : { 'content-type': type }), ...extra },
          body,
        });
        return {
          status: response.status,
          type: response.headers.get('content-type'),
          text: await response.text(),
        };
      };

      const csv = await request(
        'POST',
        '/v1/imports/patients',
        await fs.readFile('examples/patients.csv', 'utf8'),
        'text/csv',
      );
      assert.equal(csv.status, 202, csv.text);
      const jobId = (JSON.parse(csv.text) as { id: string }).id;
      type Job = { status: string; succeeded: number; failures: { line: number }[] };
      let job = JSON.parse(csv.text) as Job;
      for (let tries = 0; job.status !== 'done' && tries < 100; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        job = JSON.parse((await request('GET', `/v1/imports/${jobId}`)).text) as Job;
      }
      assert.deepEqual(
        [job.status, job.succeeded, job.failures.map((failure) => failure.line)],
        ['done', 4, [6, 7]],
      );
      const cliImport = await carebell('patients', 'import', 'examples/patients.csv', '--clinic', clinicId);
      assert.equal(cliImport.code, 1, 'two rows were refused');
      assert.match(cliImport.stderr, /imported before/);
      assert.match(cliImport.stdout, /line 6: date_of_birth: /);

      const fhir = await request(
        'POST',
        '/fhir/r4',
        await fs.readFile('examples/api/fhir-bundle.json', 'utf8'),
        'application/fhir+json',
      );
      assert.equal(fhir.status, 200, fhir.text);
      const statuses = (JSON.parse(fhir.text) as { entry: { response: { status: string } }[] }).entry.map(
        (entry) => entry.response.status,
      );
      assert.deepEqual(statuses, ['201 Created', '200 OK', '200 OK', '200 OK']);

      const event = await request(
        'POST',
        '/v1/events',
        await fs.readFile('examples/api/event.json', 'utf8'),
        'application/json',
        { 'idempotency-key': 'appt-5001-booked' },
      );
      assert.equal(event.status, 200, event.text);
      assert.deepEqual(
        (JSON.parse(event.text) as { started: { journey: string }[] }).started.map((s) => s.journey),
        ['appointment-reminder'],
      );

      const range = `from=${DateTime.utc().minus({ days: 1 }).toISODate()}&to=${DateTime.utc().plus({ days: 1 }).toISODate()}`;
      const report = JSON.parse((await request('GET', `/v1/reports?${range}`)).text) as {
        byJourney: { journey: string; enrolled: number }[];
      };
      assert.deepEqual(
        report.byJourney.map((row) => [row.journey, row.enrolled]),
        [
          ['appointment-reminder', 1],
          ['refill', 1],
        ],
      );
      const reportCsv = await request('GET', `/v1/reports?${range}&format=csv`);
      assert.match(String(reportCsv.type), /^text\/csv/);
      const docs = await fetch(`${api}/docs`);
      assert.equal(docs.status, 200);
      const unauthorised = await fetch(`${api}/v1/journeys`);
      assert.equal(unauthorised.status, 401);
      assert.match(String(unauthorised.headers.get('content-type')), /^application\/problem\+json/);
    });
  });
});

async function assertNothingLeft(dataDir: string, env: Record<string, string | undefined>): Promise<void> {
  await assert.rejects(
    fs.access(path.join(dataDir, 'postgres', 'cluster', 'postmaster.pid')),
    'PostgreSQL stopped',
  );
  await assert.rejects(fs.access(path.join(dataDir, 'runtime.json')), 'runtime.json removed');
  for (const name of [
    'CAREBELL_POSTGRES_PORT',
    'CAREBELL_TEMPORAL_PORT',
    'CAREBELL_SMS_PEER_PORT',
    'CAREBELL_SMTP_PEER_PORT',
    'CAREBELL_CODEC_PORT',
  ]) {
    assert.equal(await listening(Number(env[name])), false, `${name} is closed`);
  }
  assert.equal(await listening(Number(new URL(env.CAREBELL_PUBLIC_URL!).port)), false, 'the API is closed');
}

/** Files under `dir` (except `skip`) whose bytes contain any of the strings. */
async function filesContaining(dir: string, needles: string[], skip?: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (!entry.isFile() || (skip && file.startsWith(skip))) continue;
    const bytes = await fs.readFile(file);
    for (const needle of needles) {
      if (bytes.includes(Buffer.from(needle))) found.push(`${path.relative(dir, file)}: ${needle}`);
    }
  }
  return found;
}
