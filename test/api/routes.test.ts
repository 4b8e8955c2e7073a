// Every route of the HTTP API against the real database, Temporal and worker: success, validation, auth
// and scope errors, another clinic's ids answering 404, idempotent events, a large FHIR bundle, a CSV
// import, journeys, enrollments and reports.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { sampleTransactionBundle } from '../../fhir/sample-bundle';
import { builtInJourneys } from '../../journeys/built-in';
import { buildApi } from '../../api/server';
import { bearer, rowCounts, startApiHarness, type ApiHarness } from '../support/api';
import { testCipher, waitFor } from '../support/harness';
import { reconcileClinic } from '../../usecases/enrollments';

const inDays = (days: number) => DateTime.now().setZone('America/Chicago').plus({ days }).toISODate()!;

const patientBody = (externalId: string, overrides: Record<string, unknown> = {}) => ({
  externalId,
  name: 'Avery Example',
  dateOfBirth: '1961-05-04',
  sexAtBirth: 'female',
  phones: [{ number: '(312) 555-0142', use: 'mobile' }],
  emails: ['avery@example.org'],
  ...overrides,
});

describe('HTTP API routes', () => {
  let harness: ApiHarness;
  let keyA: string;
  let keyB: string;

  before(async () => {
    harness = await startApiHarness();
    keyA = harness.clinics[0]!.key;
    keyB = harness.clinics[1]!.key;
  });
  after(() => harness?.close());

  const call = (
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    key: string | undefined,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) =>
    harness.api.inject({
      method,
      url,
      headers: { ...(key ? bearer(key) : {}), ...headers },
      ...(payload === undefined
        ? {}
        : typeof payload === 'string' || Buffer.isBuffer(payload)
          ? { payload }
          : { payload: payload as object }),
    });

  const assertProblem = (response: Awaited<ReturnType<typeof call>>, status: number, type: string) => {
    assert.equal(response.statusCode, status, response.body);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    const body = response.json<{ type: string; status: number; errors?: { field: string }[] }>();
    assert.equal(body.type, `https://carebell.dev/problems/${type}`);
    assert.equal(body.status, status);
    return body;
  };

  it('publishes its contract at /openapi.json (3.1, problem+json errors) and a docs page', async () => {
    const spec = (await call('GET', '/openapi.json', undefined)).json<{
      openapi: string;
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>
      >;
    }>();
    assert.equal(spec.openapi, '3.1.0');
    const post = spec.paths['/v1/patients']!.post!;
    assert.ok(post.responses['422']!.content!['application/problem+json']);
    assert.ok(post.responses['201']!.content!['application/json']);
    const docs = await call('GET', '/docs', undefined);
    assert.equal(docs.statusCode, 200);
  });

  it("answers 401 without a valid key, 403 without the scope (audited), and counts the key's use", async () => {
    assert.equal((await call('GET', '/v1/journeys', keyA)).statusCode, 200);
    assertProblem(await call('GET', '/v1/journeys', undefined), 401, 'unauthorized');
    assertProblem(await call('GET', '/v1/journeys', 'cb_notakey'), 401, 'unauthorized');
    assertProblem(await call('GET', '/v1/journeys', `${keyA.slice(0, -4)}AAAA`), 401, 'unauthorized');
    const readOnly = await harness.keyWith(['patients:read']);
    assertProblem(await call('POST', '/v1/patients', readOnly, patientBody('MRN-403')), 403, 'forbidden');
    const [denied] = await harness.database.owner.db.execute<{ count: string }>(
      sql`select count(*) as count from audit_log where outcome = 'denied' and action = 'api.patients:write'`,
    );
    assert.equal(Number(denied?.count), 1);
    const revoked = await harness.keyWith(['patients:read']);
    await harness.database.owner.db.execute(
      sql`update api_keys set revoked_at = now() where prefix = ${revoked.split('_')[1]!}`,
    );
    assertProblem(await call('GET', '/v1/journeys', revoked), 401, 'unauthorized');
    const [used] = await harness.database.owner.db.execute<{ last_used_at: string | null }>(
      sql`select last_used_at from api_keys where prefix = ${keyA.split('_')[1]!}`,
    );
    assert.ok(used?.last_used_at, 'the key records its last use');
  });

  it('refuses a body over the limit (413) and a key over its rate (429 with Retry-After)', async () => {
    const huge = patientBody('MRN-413', { postalAddress: 'x'.repeat(2 * 1024 * 1024) });
    assertProblem(await call('POST', '/v1/patients', keyA, huge), 413, 'payload-too-large');
    const limited = await buildApi(harness.api.deps, { rateLimitPerMinute: 2 });
    try {
      const statuses = [];
      for (let n = 0; n < 3; n++)
        statuses.push(
          (await limited.inject({ method: 'GET', url: '/v1/journeys', headers: bearer(keyA) })).statusCode,
        );
      assert.deepEqual(statuses, [200, 200, 429]);
      const refused = await limited.inject({ method: 'GET', url: '/v1/journeys', headers: bearer(keyA) });
      assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
      assert.ok(Number(refused.headers['retry-after']) > 0, 'Retry-After says when');
      const otherKey = await limited.inject({ method: 'GET', url: '/v1/journeys', headers: bearer(keyB) });
      assert.equal(otherKey.statusCode, 200, 'limits are per key');
    } finally {
      await limited.close();
    }
  });

  it('closes as soon as a request in flight on a kept-alive connection is answered', async () => {
    const app = await buildApi(harness.api.deps);
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    app.get('/test/quick', () => ({ quick: true }));
    app.get('/test/held', async () => {
      entered();
      await gate;
      return { held: true };
    });
    const origin = await app.listen({ host: '127.0.0.1', port: 0 });
    // Answered first, so that the held request travels on a connection kept alive.
    assert.equal((await fetch(`${origin}/test/quick`)).status, 200);
    const held = fetch(`${origin}/test/held`);
    await inHandler;
    const closed = app.close();
    // Answered only once the server has stopped listening: past the moment Fastify closes idle connections.
    await waitFor(() => !app.server.listening, 'the API to stop listening', 5000);
    release();
    assert.equal((await held).status, 200, 'the request in flight is answered');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('the API was still open 5 s after its last answer')), 5000);
      }),
    ]).finally(() => clearTimeout(timer));
  });

  it('creates and updates a patient by MRN, normalising US-style phone numbers, and reads it back', async () => {
    const created = await call('POST', '/v1/patients', keyA, patientBody('MRN-1'));
    assert.equal(created.statusCode, 201, created.body);
    const { id } = created.json<{ id: string }>();
    const read = (await call('GET', `/v1/patients/${id}`, keyA)).json<{
      contacts: { channel: string; address: string }[];
      timeZone: string;
      language: string;
    }>();
    assert.deepEqual(
      read.contacts.map((contact) => contact.address),
      ['+13125550142', 'avery@example.org'],
    );
    assert.equal(read.timeZone, 'America/Chicago', "the clinic's zone when none is given");
    assert.equal(read.language, 'en');
    const updated = await call('POST', '/v1/patients', keyA, patientBody('MRN-1', { language: 'es-mx' }));
    assert.equal(updated.statusCode, 200);
    assert.equal(updated.json<{ id: string }>().id, id);
    assert.equal(
      (await call('GET', `/v1/patients/${id}`, keyA)).json<{ language: string }>().language,
      'es-MX',
    );
    const found = await call('POST', '/v1/patients/lookup', keyA, { externalId: 'MRN-1' });
    assert.equal(found.json<{ id: string }>().id, id);
    assertProblem(
      await call('POST', '/v1/patients/lookup', keyA, { externalId: 'MRN-404' }),
      404,
      'not-found',
    );
  });

  it('refuses a number that cannot be normalised with a 422 naming the field, writing nothing', async () => {
    const before = await rowCounts(harness);
    const response = await call(
      'POST',
      '/v1/patients',
      keyA,
      patientBody('MRN-2', { phones: [{ number: '555-807-7943' }] }),
    );
    const problem = assertProblem(response, 422, 'validation-error');
    assert.deepEqual(
      problem.errors!.map((error) => error.field),
      ['body.phones.0.number'],
    );
    assert.doesNotMatch(response.body, /807-7943|Avery/);
    assert.deepEqual(await rowCounts(harness), before);
  });

  it('keeps consents as an append-only history with evidence; PATCH deactivates and records a death', async () => {
    const { id } = (await call('POST', '/v1/patients', keyA, patientBody('MRN-3'))).json<{ id: string }>();
    for (const granted of [true, false])
      assert.equal(
        (
          await call('POST', `/v1/patients/${id}/consents`, keyA, {
            channel: 'sms',
            category: 'marketing',
            granted,
            evidence: {
              source: 'web-form',
              method: 'electronic',
              disclosureVersion: 'SMS-2026-01',
              at: new Date().toISOString(),
            },
          })
        ).statusCode,
        201,
      );
    const history = (await call('GET', `/v1/patients/${id}/consents`, keyA)).json<{
      consents: { granted: boolean; evidence: { disclosureVersion?: string } }[];
    }>();
    assert.deepEqual(
      history.consents.map((consent) => consent.granted),
      [false, true],
    );
    assert.equal(history.consents[0]!.evidence.disclosureVersion, 'SMS-2026-01');
    const deceased = await call('PATCH', `/v1/patients/${id}`, keyA, { status: 'deceased' });
    assert.equal(deceased.json<{ status: string }>().status, 'deceased');
    assertProblem(await call('PATCH', `/v1/patients/${id}`, keyA, {}), 422, 'validation-error');
    const timeline = (await call('GET', `/v1/patients/${id}/timeline`, keyA)).json<{
      events: { action: string }[];
    }>();
    assert.ok(timeline.events.some((event) => event.action === 'consent.record'));
  });

  it("answers 404 for another clinic's ids on every route that takes one", async () => {
    const { id } = (await call('POST', '/v1/patients', keyA, patientBody('MRN-4'))).json<{ id: string }>();
    const enrolled = await call('POST', '/v1/enrollments', keyA, {
      patientId: id,
      journey: 'refill',
      anchorDate: inDays(30),
      facts: { daysSupply: '30', refillsRemaining: '2' },
    });
    assert.equal(enrolled.statusCode, 201, enrolled.body);
    const enrollmentId = enrolled.json<{ id: string }>().id;
    const csv = await call(
      'POST',
      '/v1/imports/patients',
      keyA,
      'external_id,name,date_of_birth\nX-1,Pat Example,1970-01-01\n',
      { 'content-type': 'text/csv' },
    );
    const importId = csv.json<{ id: string }>().id;
    const asB: [string, string, unknown?][] = [
      ['GET', `/v1/patients/${id}`],
      ['PATCH', `/v1/patients/${id}`, { status: 'inactive' }],
      ['GET', `/v1/patients/${id}/consents`],
      [
        'POST',
        `/v1/patients/${id}/consents`,
        {
          channel: 'sms',
          category: 'transactional',
          granted: false,
          evidence: { source: 'x', method: 'verbal' },
        },
      ],
      ['GET', `/v1/patients/${id}/timeline`],
      ['GET', `/v1/enrollments/${enrollmentId}`],
      ['POST', `/v1/enrollments/${enrollmentId}/pause`],
      ['POST', `/v1/enrollments/${enrollmentId}/events`, { type: 'medication.dispensed' }],
      [
        'POST',
        '/v1/enrollments',
        {
          patientId: id,
          journey: 'refill',
          anchorDate: inDays(30),
          facts: { daysSupply: '30', refillsRemaining: '2' },
        },
      ],
      ['GET', `/v1/imports/${importId}`],
      ['GET', `/fhir/r4/_jobs/${importId}`],
    ];
    for (const [method, url, payload] of asB)
      assertProblem(await call(method as 'GET', url, keyB, payload), 404, 'not-found');
    const event = await call(
      'POST',
      '/v1/events',
      keyB,
      { type: 'visit.missed', patient: { id }, anchorDate: inDays(0) },
      { 'idempotency-key': 'cross-clinic' },
    );
    assertProblem(event, 404, 'not-found');
    assert.equal((await call('GET', `/v1/patients/${id}`, keyA)).json<{ status: string }>().status, 'active');
  });

  it('acts on an event once per Idempotency-Key; a different body under the same key is 409', async () => {
    await call('POST', '/v1/patients', keyA, patientBody('MRN-5'));
    const event = {
      type: 'medication.dispensed',
      patient: { ehrId: 'MRN-5' },
      eventId: 'dispense-5',
      subject: 'rx-5',
      anchorDate: inDays(30),
      facts: { daysSupply: '30', refillsRemaining: '1' },
    };
    const key = { 'idempotency-key': 'evt-5' };
    const first = await call('POST', '/v1/events', keyA, event, key);
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.json<{ started: unknown[] }>().started.length, 1);
    const again = await call('POST', '/v1/events', keyA, { ...event, facts: { ...event.facts } }, key);
    assert.equal(again.statusCode, 200);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.json(), first.json());
    assertProblem(
      await call('POST', '/v1/events', keyA, { ...event, eventId: 'other' }, key),
      409,
      'idempotency-key-reused',
    );
    assertProblem(await call('POST', '/v1/events', keyA, event), 422, 'validation-error');
    const rejected = await call(
      'POST',
      '/v1/events',
      keyA,
      { ...event, anchorDate: undefined, eventId: 'dispense-6' },
      { 'idempotency-key': 'evt-6' },
    );
    assertProblem(rejected, 422, 'event-rejected');
    // The refusal is the answer to that key from now on.
    assertProblem(
      await call(
        'POST',
        '/v1/events',
        keyA,
        { ...event, anchorDate: undefined, eventId: 'dispense-6' },
        { 'idempotency-key': 'evt-6' },
      ),
      422,
      'event-rejected',
    );
  });

  it('maps a FHIR transaction bundle of 2,000+ entries in the background, answering per entry', async () => {
    const { bundle, expected } = sampleTransactionBundle({ patients: 250, seed: 13 });
    assert.ok(expected.entries >= 2000);
    const posted = await call('POST', '/fhir/r4', keyA, JSON.stringify(bundle), {
      'content-type': 'application/fhir+json',
    });
    assert.ok([200, 202].includes(posted.statusCode), posted.body);
    let answer = posted;
    if (posted.statusCode === 202) {
      const location = String(posted.headers['content-location']);
      assert.match(location, /\/fhir\/r4\/_jobs\/[0-9a-f-]{36}$/);
      const path = new URL(location).pathname;
      await waitFor(
        async () => (answer = await call('GET', path, keyA)).statusCode === 200,
        'the bundle job',
        300_000,
      );
    }
    const response = answer.json<{ type: string; entry: { response: { status: string } }[] }>();
    assert.equal(response.type, 'batch-response');
    assert.equal(response.entry.length, expected.entries);
    const failed = response.entry.filter((entry) => /^4/.test(entry.response.status));
    assert.equal(failed.length, expected.invalid, 'exactly the bad entries fail');
    const [patients] = await harness.database.owner.db.execute<{ count: string }>(
      sql`select count(*) as count from patients where clinic_id = ${harness.clinics[0]!.id}`,
    );
    assert.ok(Number(patients?.count) >= expected.patients);
    const metadata = await call('GET', '/fhir/r4/metadata', undefined);
    assert.equal(metadata.json<{ resourceType: string }>().resourceType, 'CapabilityStatement');
  });

  it('imports a CSV with good and bad rows by line; the same file again changes nothing', async () => {
    const file = await fs.readFile('examples/patients.csv');
    const submitted = await call('POST', '/v1/imports/patients', keyA, file, { 'content-type': 'text/csv' });
    assert.ok([200, 202].includes(submitted.statusCode), submitted.body);
    const id = submitted.json<{ id: string }>().id;
    let job = submitted.json<{
      status: string;
      succeeded: number;
      failed: number;
      failures: { line: number; problem: string }[];
    }>();
    await waitFor(
      async () => {
        job = (await call('GET', `/v1/imports/${id}`, keyA)).json();
        return job.status === 'done';
      },
      'the CSV import',
      60_000,
    );
    assert.equal(job.failed, 2, JSON.stringify(job.failures));
    assert.ok(job.failures.every((failure) => failure.line > 1 && failure.problem.length > 0));
    assert.doesNotMatch(JSON.stringify(job.failures), /Fictional|1975-02-30|Springfield/);
    const before = await rowCounts(harness);
    const again = await call('POST', '/v1/imports/patients', keyA, file, { 'content-type': 'text/csv' });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json<{ id: string }>().id, id);
    assert.deepEqual(await rowCounts(harness), before);
  });

  it('lists, publishes (errors naming the step), switches off, and previews journeys', async () => {
    const listed = (await call('GET', '/v1/journeys', keyA)).json<{
      journeys: { key: string; active: boolean }[];
    }>();
    assert.ok(listed.journeys.some((journey) => journey.key === 'refill' && journey.active));
    const refill = builtInJourneys().find((journey) => journey.key === 'refill')!;
    const bad = { ...refill, steps: [{ ...refill.steps[0], for: 'soon' }, ...refill.steps.slice(1)] };
    const refused = assertProblem(await call('POST', '/v1/journeys', keyA, bad), 422, 'validation-error') as {
      errors: { field: string }[];
    };
    assert.ok(
      refused.errors.some((error) => /step .*\(steps\[0\]\)/.test(error.field)),
      JSON.stringify(refused.errors),
    );
    const published = await call('POST', '/v1/journeys', keyA, { ...refill, name: 'Refill, our words' });
    assert.equal(published.statusCode, 201, published.body);
    assert.equal(published.json<{ version: number }>().version, refill.version + 1);
    assert.equal((await call('POST', '/v1/journeys/re-engagement/deactivate', keyA)).statusCode, 200);
    const after = (await call('GET', '/v1/journeys', keyA)).json<{
      journeys: { key: string; active: boolean }[];
    }>();
    assert.equal(after.journeys.find((journey) => journey.key === 're-engagement')!.active, false);
    assertProblem(await call('POST', '/v1/journeys/no-such/activate', keyA), 404, 'not-found');
    const preview = await call('POST', '/v1/journeys/refill/preview', keyA, {
      patient: { timeZone: 'America/Chicago', language: 'es', preferredChannel: 'sms' },
      event: {
        type: 'medication.dispensed',
        anchorInDays: 30,
        facts: { daysSupply: '30', refillsRemaining: '2' },
      },
    });
    assert.equal(preview.statusCode, 200, preview.body);
    const { timeline } = preview.json<{ timeline: { outcome: string; language: string }[] }>();
    assert.ok(timeline.some((entry) => entry.outcome === 'sent' && entry.language === 'es'));
  });

  it('starts, pauses, resumes and cancels an enrollment; one stopped from outside is closed when read', async () => {
    const { id } = (await call('POST', '/v1/patients', keyA, patientBody('MRN-7'))).json<{ id: string }>();
    const body = {
      patientId: id,
      journey: 'refill',
      anchorDate: inDays(40),
      facts: { daysSupply: '30', refillsRemaining: '2' },
    };
    const created = await call('POST', '/v1/enrollments', keyA, body);
    assert.equal(created.statusCode, 201);
    const enrollment = created.json<{ id: string; status: string }>();
    assert.equal(
      (await call('POST', '/v1/enrollments', keyA, body)).statusCode,
      200,
      'the same anchor finds it',
    );
    for (const action of ['pause', 'resume'])
      assert.equal((await call('POST', `/v1/enrollments/${enrollment.id}/${action}`, keyA)).statusCode, 202);
    assert.equal((await call('POST', `/v1/enrollments/${enrollment.id}/cancel`, keyA)).statusCode, 202);
    await waitFor(
      async () =>
        (await call('GET', `/v1/enrollments/${enrollment.id}`, keyA)).json<{ status: string }>().status ===
        'cancelled',
      'the cancelled enrollment',
    );
    assertProblem(await call('POST', `/v1/enrollments/${enrollment.id}/pause`, keyA), 409, 'conflict');

    const other = await call('POST', '/v1/enrollments', keyA, { ...body, anchorDate: inDays(50) });
    const otherId = other.json<{ id: string }>().id;
    const [row] = await harness.database.owner.db.execute<{ workflow_id: string }>(
      sql`select workflow_id from enrollments where id = ${otherId}`,
    );
    await harness.temporal.client.workflow
      .getHandle(row!.workflow_id)
      .terminate('test: stopped from outside');
    const closed = (await call('GET', `/v1/enrollments/${otherId}`, keyA)).json<{
      status: string;
      outcome: string;
    }>();
    assert.deepEqual([closed.status, closed.outcome], ['exited', 'terminated']);

    // The hourly reconciler finds them without anyone reading them.
    const third = await call('POST', '/v1/enrollments', keyA, { ...body, anchorDate: inDays(60) });
    const [thirdRow] = await harness.database.owner.db.execute<{ workflow_id: string }>(
      sql`select workflow_id from enrollments where id = ${third.json<{ id: string }>().id}`,
    );
    await harness.temporal.client.workflow
      .getHandle(thirdRow!.workflow_id)
      .terminate('test: stopped from outside');
    const deps = {
      db: harness.database.db,
      cipher: testCipher,
      client: harness.temporal.client,
      taskQueue: harness.taskQueue,
    };
    assert.equal(await reconcileClinic(deps, harness.clinics[0]!.id), 1);
    assert.equal(await reconcileClinic(deps, harness.clinics[0]!.id), 0, 'nothing left to close');
  });

  it('reports per journey, channel, language and variant, as JSON and CSV', async () => {
    const query = `from=${inDays(-1)}&to=${inDays(60)}`;
    const report = await call('GET', `/v1/reports?${query}`, keyA);
    assert.equal(report.statusCode, 200, report.body);
    const body = report.json<{
      totals: { enrolled: number };
      byJourney: { journey: string; enrolled: number }[];
    }>();
    assert.ok(body.totals.enrolled >= 3);
    assert.equal(typeof (body.totals as { languageFallbacks?: unknown }).languageFallbacks, 'number');
    assert.ok(body.byJourney.some((row) => row.journey === 'refill' && row.enrolled >= 3));
    const csv = await call('GET', `/v1/reports?${query}&format=csv`, keyA);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.match(csv.body, /^section,group,metric,value\r\ntotals,,sent,/);
    assertProblem(
      await call('GET', `/v1/reports?from=${inDays(5)}&to=${inDays(1)}`, keyA),
      422,
      'validation-error',
    );
    const onlyB = (await call('GET', `/v1/reports?${query}`, keyB)).json<{ totals: { enrolled: number } }>();
    assert.equal(onlyB.totals.enrolled, 0, "clinic B sees none of A's figures");
  });
});
