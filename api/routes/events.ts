// EHR events as plain JSON: the same events `carebell events send` acts on, made safe to retry by an
// Idempotency-Key.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { clinicEvent } from '../../journeys/events';
import { handleEvent } from '../../usecases/handle-event';
import { callerOf } from '../auth';
import { idempotencyHeaders, idempotently } from '../idempotency';
import { problemResponses } from '../problems';

export const KNOWN_EVENT_TYPES = [
  'medication.dispensed',
  'medication.discontinued',
  'appointment.booked',
  'appointment.rescheduled',
  'appointment.cancelled',
  'appointment.missed',
  'visit.completed',
  'screening.completed',
  'screening.declined',
  'screening.excluded',
  'coverage.updated',
  'coverage.open-enrollment',
  'coverage.renewal-due',
  'patient.updated',
];

export const eventOutcome = z
  .object({
    patientId: z.uuid(),
    repeat: z.boolean().describe('The same eventId was acted on before: nothing was done again'),
    started: z.array(
      z.object({
        enrollmentId: z.uuid().describe('Read it back at /v1/enrollments/{id}: its deliveries and answers'),
        journey: z.string(),
        version: z.number().int(),
        workflowId: z.string(),
        created: z.boolean(),
      }),
    ),
    excluded: z
      .array(z.string())
      .describe("Journeys the event type starts that do not apply (their trigger's unless)"),
    signalled: z.array(z.object({ journey: z.string(), workflowId: z.string() })),
  })
  .meta({ id: 'EventOutcome' });

export const eventRoutes: FastifyPluginAsyncZod = (app) => {
  app.post(
    '/v1/events',
    {
      config: { scope: 'ehr:write' },
      schema: {
        tags: ['events'],
        summary: 'Act on an EHR event: start the journeys it triggers, pass it to running ones',
        description: `Known types: ${KNOWN_EVENT_TYPES.join(', ')}; a clinic's own journeys may start on others. The same Idempotency-Key and body answer the first result again; the same key with another body is 409.`,
        headers: idempotencyHeaders,
        body: clinicEvent,
        response: { 200: eventOutcome, ...problemResponses(400, 401, 403, 409, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      return idempotently(request, reply, request.headers['idempotency-key'], async () => ({
        status: 200,
        body: await handleEvent(app.deps, caller.clinicId, request.body, caller.actor),
      }));
    },
  );
  return Promise.resolve();
};
