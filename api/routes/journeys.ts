// Journeys for the clinic's administrators: what runs, publishing their own version, switching one on or
// off, and a preview for a sample patient (the same simulation as `carebell simulate`).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getClinic } from '../../db/queries/clinics';
import { withClinic } from '../../db/tenant';
import { settingsOf } from '../../journeys/clinic-settings';
import { patientFile, eventFile } from '../../journeys/sample-inputs';
import { slug, validateJourney } from '../../journeys/schema';
import {
  listClinicJourneys,
  previewJourney,
  publishJourney,
  setJourneyActive,
} from '../../usecases/journeys';
import { PublishRefused } from '../../usecases/publish-journey';
import { callerOf } from '../auth';
import { ApiProblem, problemResponses } from '../problems';

const journeySummary = z
  .object({
    key: z.string(),
    version: z.number().int(),
    name: z.string(),
    category: z.enum(['transactional', 'marketing']),
    trigger: z.string(),
    goal: z.string(),
    source: z.enum(['built-in', 'clinic']),
    active: z.boolean(),
  })
  .meta({ id: 'JourneySummary' });

const keyParams = z.object({ key: slug });

/** Previews start a throw-away time-skipping server each: one at a time per API process. */
let previewQueue: Promise<unknown> = Promise.resolve();
const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => {
  const next = previewQueue.then(work, work);
  previewQueue = next.catch(() => undefined);
  return next;
};

export const journeyRoutes: FastifyPluginAsyncZod = (app) => {
  const { deps } = app;

  async function journeysOf(clinicId: string) {
    const listed = await withClinic(deps.db, clinicId, (tx) => listClinicJourneys(tx, clinicId));
    if (!listed) throw new ApiProblem('not-found', 'no such clinic');
    return listed;
  }

  app.get(
    '/v1/journeys',
    {
      config: { scope: 'journeys:admin' },
      schema: {
        tags: ['journeys'],
        summary: "The clinic's journeys: built-in ones, its own versions, and whether each is active",
        response: {
          200: z.object({ journeys: z.array(journeySummary) }),
          ...problemResponses(401, 403, 429),
        },
      },
    },
    async (request) => ({ journeys: (await journeysOf(callerOf(request).clinicId)).summaries }),
  );

  app.get(
    '/v1/journeys/:key',
    {
      config: { scope: 'journeys:admin' },
      schema: {
        tags: ['journeys'],
        summary: 'The definition of a journey as the clinic runs it',
        params: keyParams,
        response: { 200: z.record(z.string(), z.unknown()), ...problemResponses(401, 403, 404, 422, 429) },
      },
    },
    async (request) => {
      const { definitions } = await journeysOf(callerOf(request).clinicId);
      const definition = definitions.find((journey) => journey.key === request.params.key);
      if (!definition) throw new ApiProblem('not-found', 'no such journey');
      return definition;
    },
  );

  app.post(
    '/v1/journeys',
    {
      config: { scope: 'journeys:admin' },
      bodyLimit: 512 * 1024,
      schema: {
        tags: ['journeys'],
        summary: "Publish the clinic's own version of a journey",
        description:
          'Validated against the journey schema (`carebell journeys schema`); every error names the step and field. New enrollments use it; running ones keep the version they started with.',
        body: z.record(z.string(), z.unknown()).describe('A journey definition'),
        response: {
          201: z.object({ key: z.string(), version: z.number().int() }),
          ...problemResponses(400, 401, 403, 413, 415, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const checked = validateJourney(request.body);
      if (!checked.ok)
        throw new ApiProblem(
          'validation-error',
          'the journey definition is not valid',
          checked.errors.map((error) => {
            const cut = error.indexOf(': ');
            return { field: `body ${error.slice(0, cut)}`, message: error.slice(cut + 2) };
          }),
        );
      const published = await publishJourney(deps.db, caller.clinicId, checked.value, {
        actor: caller.actor,
        publicUrl: deps.publicUrl,
      }).catch((error: unknown) => {
        if (!(error instanceof PublishRefused)) throw error;
        throw new ApiProblem(
          'validation-error',
          'the journey cannot be published as it is',
          error.problems.map((problem) => ({ field: 'body', message: problem })),
        );
      });
      return reply.code(201).send({ key: published.key, version: published.version });
    },
  );

  for (const [action, active] of [
    ['activate', true],
    ['deactivate', false],
  ] as const) {
    app.post(
      `/v1/journeys/:key/${action}`,
      {
        config: { scope: 'journeys:admin' },
        schema: {
          tags: ['journeys'],
          summary: active
            ? 'Switch a journey on: events and sweeps start it again'
            : 'Switch a journey off: nothing new starts it; running enrollments finish',
          params: keyParams,
          response: {
            200: z.object({ key: z.string(), active: z.boolean() }),
            ...problemResponses(401, 403, 404, 422, 429),
          },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        const { key } = request.params;
        if (!(await setJourneyActive(deps.db, caller.clinicId, key, active, caller.actor)))
          throw new ApiProblem('not-found', 'no such journey');
        return { key, active };
      },
    );
  }

  app.post(
    '/v1/journeys/:key/preview',
    {
      config: { scope: 'journeys:admin' },
      schema: {
        tags: ['journeys'],
        summary: 'Preview a journey for a sample patient: what would be sent, when, how and in which words',
        description:
          'Runs the journey on a time-skipping test server: months pass in seconds; nothing is stored or sent.',
        params: keyParams,
        body: z.object({ patient: patientFile, event: eventFile }).strict(),
        response: {
          200: z.object({ outcome: z.string(), timeline: z.array(z.record(z.string(), z.unknown())) }),
          ...problemResponses(400, 401, 403, 404, 415, 422, 429),
        },
      },
    },
    async (request) => {
      const { clinicId } = callerOf(request);
      const { definitions } = await journeysOf(clinicId);
      const definition = definitions.find((journey) => journey.key === request.params.key);
      if (!definition) throw new ApiProblem('not-found', 'no such journey');
      const clinic = (await withClinic(deps.db, clinicId, (tx) => getClinic(tx, clinicId)))!;
      const { outcome, timeline } = await oneAtATime(async () =>
        previewJourney({
          definition,
          patient: request.body.patient,
          event: request.body.event,
          // The clinic's own name, number, hours, caps and language, as its patients would see them.
          clinic: {
            name: clinic.displayName ?? clinic.name,
            phone: clinic.contactPhone ?? undefined,
            window: { opens: clinic.quietHoursEnd, closes: clinic.quietHoursStart },
            caps: { perDay: clinic.maxPerDay, perWeek: clinic.maxPerWeek },
            defaultLanguage: settingsOf(clinic.settings).defaultLanguage,
            publicUrl: deps.publicUrl,
          },
          testServerPath: await deps.previewServerPath(),
        }),
      );
      return { outcome, timeline: timeline as unknown as Record<string, unknown>[] };
    },
  );
  return Promise.resolve();
};
