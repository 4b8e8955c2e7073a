// One patient's place in one journey: started by hand, paused, resumed, cancelled, told of an event, read
// with what it sent.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CATEGORIES, CHANNELS } from '../../domain/messaging';
import { isoDate } from '../../domain/patient-input';
import { clinicEvent } from '../../journeys/events';
import { slug } from '../../journeys/schema';
import { enrollByHand, findEnrollment, signalEnrollment } from '../../usecases/enrollments';
import { callerOf } from '../auth';
import { replyView, viewOfReply } from '../reply-view';
import { ApiProblem, problemResponses } from '../problems';

const idParams = z.object({ id: z.uuid('must be an enrollment id (UUID)') });

const enrollmentView = z
  .object({
    id: z.uuid(),
    patientId: z.uuid(),
    journey: z.string(),
    version: z.number().int(),
    category: z.enum(CATEGORIES),
    status: z.string(),
    outcome: z.string().nullable(),
    endReason: z
      .string()
      .nullable()
      .describe("Why it ended, in the journey's words: patient-cancelled, rescheduled, the goal event…"),
    variants: z.record(z.string(), z.string()).nullable(),
    nextSendAt: z.iso.datetime().nullable(),
    startedAt: z.iso.datetime(),
    endedAt: z.iso.datetime().nullable(),
    deliveries: z.array(
      z.object({
        id: z.uuid(),
        template: z.string(),
        variant: z.string().nullable(),
        channel: z.enum(CHANNELS).nullable(),
        language: z.string().nullable(),
        status: z.string(),
        reason: z.string().nullable(),
        dueAt: z.iso.datetime(),
        completedAt: z.iso.datetime().nullable(),
      }),
    ),
    replies: z
      .array(replyView)
      .describe("The patient's answers to this journey's texts (CONFIRM, CANCEL APPT), oldest first"),
  })
  .meta({ id: 'Enrollment' });

const isoOrNull = (date: Date | null) => (date === null ? null : date.toISOString());

export const enrollmentRoutes: FastifyPluginAsyncZod = (app) => {
  const { deps } = app;

  async function view(clinicId: string, id: string): Promise<z.infer<typeof enrollmentView>> {
    const found = await findEnrollment(deps, clinicId, id);
    if (!found) throw new ApiProblem('not-found', 'no such enrollment in this clinic');
    const { enrollment, deliveries, replies } = found;
    return {
      id: enrollment.id,
      patientId: enrollment.patientId,
      journey: enrollment.journeyKey,
      version: enrollment.journeyVersion,
      category: enrollment.category,
      status: enrollment.status,
      outcome: enrollment.outcome,
      endReason: enrollment.endReason,
      variants: enrollment.variants ?? null,
      nextSendAt: isoOrNull(enrollment.nextSendAt),
      startedAt: enrollment.startedAt.toISOString(),
      endedAt: isoOrNull(enrollment.endedAt),
      deliveries: deliveries.map((delivery) => ({
        ...delivery,
        dueAt: delivery.dueAt.toISOString(),
        completedAt: isoOrNull(delivery.completedAt),
      })),
      replies: replies.map(viewOfReply),
    };
  }

  app.post(
    '/v1/enrollments',
    {
      config: { scope: 'patients:write' },
      schema: {
        tags: ['enrollments'],
        summary: 'Enroll a patient in a journey by hand',
        description: 'The same patient, journey and anchor date find the enrollment made before.',
        body: z
          .object({
            patientId: z.uuid('must be a patient id (UUID)'),
            journey: slug,
            anchorDate: isoDate.describe("The date the journey counts from, in the patient's zone"),
            facts: clinicEvent.shape.facts,
            subject: clinicEvent.shape.subject,
          })
          .strict(),
        response: {
          200: enrollmentView,
          201: enrollmentView,
          ...problemResponses(400, 401, 403, 404, 415, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const { clinicId } = callerOf(request);
      const enrolled = await enrollByHand(deps, clinicId, request.body);
      return reply.code(enrolled.created ? 201 : 200).send(await view(clinicId, enrolled.enrollmentId));
    },
  );

  app.get(
    '/v1/enrollments/:id',
    {
      config: { scope: 'patients:read' },
      schema: {
        tags: ['enrollments'],
        summary: 'Read an enrollment with the deliveries it made',
        params: idParams,
        response: { 200: enrollmentView, ...problemResponses(401, 403, 404, 422, 429) },
      },
    },
    async (request) => view(callerOf(request).clinicId, request.params.id),
  );

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    app.post(
      `/v1/enrollments/:id/${action}`,
      {
        config: { scope: 'patients:write' },
        schema: {
          tags: ['enrollments'],
          summary: {
            pause: 'Pause an enrollment: nothing is sent until it is resumed',
            resume: 'Resume a paused enrollment',
            cancel: 'Cancel an enrollment: it ends and sends nothing more',
          }[action],
          params: idParams,
          response: {
            202: z.object({ id: z.uuid(), signalled: z.literal(action) }),
            ...problemResponses(401, 403, 404, 409, 422, 429),
          },
        },
      },
      async (request, reply) => {
        const { clinicId } = callerOf(request);
        const result = await signalEnrollment(deps, clinicId, request.params.id, action);
        if (result === 'not-found') throw new ApiProblem('not-found', 'no such enrollment in this clinic');
        if (result === 'not-running') throw new ApiProblem('conflict', 'the enrollment has ended');
        return reply.code(202).send({ id: request.params.id, signalled: action });
      },
    );
  }

  app.post(
    '/v1/enrollments/:id/events',
    {
      config: { scope: 'ehr:write' },
      schema: {
        tags: ['enrollments'],
        summary:
          'Pass an event to one enrollment (its goal ends it; an endsOn event ends it with that reason)',
        params: idParams,
        body: z.object({ type: clinicEvent.shape.type }).strict(),
        response: {
          202: z.object({ id: z.uuid(), signalled: z.string() }),
          ...problemResponses(400, 401, 403, 404, 409, 415, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const { clinicId } = callerOf(request);
      const result = await signalEnrollment(deps, clinicId, request.params.id, { event: request.body.type });
      if (result === 'not-found') throw new ApiProblem('not-found', 'no such enrollment in this clinic');
      if (result === 'not-running') throw new ApiProblem('conflict', 'the enrollment has ended');
      return reply.code(202).send({ id: request.params.id, signalled: request.body.type });
    },
  );
  return Promise.resolve();
};
