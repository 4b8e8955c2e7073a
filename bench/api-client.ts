// The bench as an EHR integration: its requests to carebell's HTTP API, with the clinic's key.
import { randomUUID } from 'node:crypto';
import type { ClinicEvent } from '../journeys/events';
import type { BenchContext } from './context';

/** POST /v1/events; throws unless carebell acted on the event (200). */
export async function postEvent(ctx: BenchContext, event: ClinicEvent): Promise<void> {
  const response = await fetch(`${ctx.api.url}/v1/events`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${ctx.api.key}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify(event),
  });
  const body = await response.text();
  if (response.status !== 200)
    throw new Error(`POST /v1/events answered ${response.status}: ${body.slice(0, 300)}`);
}

export interface FhirJob {
  /** The batch-response's entries' statuses, counted. */
  statuses: Record<string, number>;
}

/** POST /fhir/r4 and, when it answers 202, polls the job until its batch-response is ready. */
export async function postBundle(ctx: BenchContext, bundle: unknown, timeoutMs: number): Promise<FhirJob> {
  const headers = { authorization: `Bearer ${ctx.api.key}`, 'content-type': 'application/fhir+json' };
  let response = await fetch(`${ctx.api.url}/fhir/r4`, {
    method: 'POST',
    headers,
    body: JSON.stringify(bundle),
  });
  const deadline = Date.now() + timeoutMs;
  while (response.status === 202) {
    const location = response.headers.get('content-location');
    await response.text();
    if (!location) throw new Error('POST /fhir/r4 answered 202 without Content-Location');
    if (Date.now() > deadline) throw new Error(`the FHIR job did not finish within ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The job's address is under the public URL, which is the API's own here.
    response = await fetch(location, { headers: { authorization: headers.authorization } });
  }
  const body = (await response.json()) as { entry?: { response: { status: string } }[] };
  if (response.status !== 200)
    throw new Error(`the FHIR bundle answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
  const statuses: Record<string, number> = {};
  for (const entry of body.entry ?? [])
    statuses[entry.response.status] = (statuses[entry.response.status] ?? 0) + 1;
  return { statuses };
}
