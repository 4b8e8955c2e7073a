// Patients by the clinic's own id for them (the MRN, sent in bodies, never in URLs, which end up in logs):
// created or updated, read, deactivated; their consents as an append-only history; their timeline.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { auditTrail } from '../../db/queries/audit';
import { consentHistory } from '../../db/queries/consents';
import { patientDeliveries } from '../../db/queries/deliveries';
import { patientEnrollments } from '../../db/queries/enrollments';
import { findPatientIdByExternalId, getPatient, type PatientRecord } from '../../db/queries/patients';
import { patientReplies } from '../../db/queries/replies';
import { replyView, viewOfReply } from '../reply-view';
import { withClinic } from '../../db/tenant';
import { CATEGORIES, CHANNELS, PATIENT_STATUSES } from '../../domain/messaging';
import { consentInput, externalId, languageTag, patientInput, timeZone } from '../../domain/patient-input';
import { recordPatientConsent, upsertPatient, updatePatientPreferences } from '../../usecases/patients';
import { callerOf } from '../auth';
import { ApiProblem, problemResponses } from '../problems';

const patientId = z.object({ id: z.uuid('must be a patient id (UUID)') });

export const patientView = z
  .object({
    id: z.uuid(),
    externalId: z.string().optional(),
    name: z.string(),
    dateOfBirth: z.string(),
    sexAtBirth: z.string().optional(),
    language: z.string(),
    timeZone: z.string(),
    preferredChannel: z.enum(CHANNELS),
    status: z.enum(PATIENT_STATUSES),
    postalAddress: z.string().optional(),
    contacts: z.array(z.object({ channel: z.enum(CHANNELS), address: z.string(), rank: z.number().int() })),
  })
  .meta({ id: 'Patient' });

const viewOf = (patient: PatientRecord): z.infer<typeof patientView> => ({
  id: patient.id,
  externalId: patient.externalId,
  name: patient.name,
  dateOfBirth: patient.dateOfBirth,
  sexAtBirth: patient.sexAtBirth,
  language: patient.language,
  timeZone: patient.timeZone,
  preferredChannel: patient.preferredChannel,
  status: patient.status,
  postalAddress: patient.postalAddress,
  contacts: patient.contacts.map(({ channel, address, rank }) => ({ channel, address, rank })),
});

const consentView = z
  .object({
    channel: z.enum(CHANNELS),
    category: z.enum(CATEGORIES),
    granted: z.boolean(),
    source: z.string(),
    evidence: z.record(z.string(), z.unknown()),
    recordedAt: z.iso.datetime(),
  })
  .meta({ id: 'ConsentRecord' });

const timelineView = z
  .object({
    deliveries: z.array(
      z.object({
        id: z.uuid(),
        journey: z.string().nullable(),
        template: z.string(),
        variant: z.string().nullable(),
        category: z.enum(CATEGORIES),
        channel: z.enum(CHANNELS).nullable(),
        language: z.string().nullable(),
        languageFallback: z
          .boolean()
          .describe("Sent in the clinic's default language or English: the patient's own had no text"),
        status: z.string(),
        reason: z.string().nullable(),
        dueAt: z.iso.datetime(),
        completedAt: z.iso.datetime().nullable(),
      }),
    ),
    enrollments: z.array(
      z.object({
        id: z.uuid(),
        journey: z.string(),
        version: z.number().int(),
        status: z.string(),
        outcome: z.string().nullable(),
        endReason: z.string().nullable(),
        startedAt: z.iso.datetime(),
        endedAt: z.iso.datetime().nullable(),
      }),
    ),
    events: z.array(
      z.object({ at: z.iso.datetime(), actor: z.string(), action: z.string(), outcome: z.string() }),
    ),
    replies: z.array(replyView).describe("The patient's SMS replies as understood (never their text)"),
  })
  .meta({ id: 'PatientTimeline' });

const iso = (date: Date) => date.toISOString();
const isoOrNull = (date: Date | null) => (date === null ? null : date.toISOString());

export const patientRoutes: FastifyPluginAsyncZod = (app) => {
  const { deps } = app;

  async function readPatient(clinicId: string, id: string, actor: string) {
    const patient = await withClinic(deps.db, clinicId, (tx) =>
      getPatient(tx, deps.cipher, actor, clinicId, id),
    );
    if (!patient) throw new ApiProblem('not-found', 'no such patient in this clinic');
    return viewOf(patient);
  }

  app.post(
    '/v1/patients',
    {
      config: { scope: 'patients:write' },
      schema: {
        tags: ['patients'],
        summary: "Create or update a patient by the clinic's id for them (externalId, the MRN)",
        description:
          "Phone numbers are normalised to E.164 in the clinic's region; only mobile numbers are texted. A change of language, zone, channel or contacts reaches the patient's running journeys.",
        body: patientInput,
        response: {
          200: z.object({ id: z.uuid(), created: z.literal(false) }),
          201: z.object({ id: z.uuid(), created: z.literal(true) }),
          ...problemResponses(400, 401, 403, 413, 415, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const upserted = await upsertPatient(deps, caller.clinicId, request.body, caller.actor);
      return upserted.created
        ? reply.code(201).send({ id: upserted.id, created: true })
        : reply.code(200).send({ id: upserted.id, created: false });
    },
  );

  app.post(
    '/v1/patients/lookup',
    {
      config: { scope: 'patients:read' },
      schema: {
        tags: ['patients'],
        summary: "Find a patient's id by the clinic's id for them (in the body, so it stays out of URLs)",
        body: z.object({ externalId }).strict(),
        response: { 200: z.object({ id: z.uuid() }), ...problemResponses(400, 401, 403, 404, 415, 422, 429) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const id = await withClinic(deps.db, caller.clinicId, (tx) =>
        findPatientIdByExternalId(tx, deps.cipher, caller.actor, caller.clinicId, request.body.externalId),
      );
      if (!id) throw new ApiProblem('not-found', 'no patient with this externalId in this clinic');
      return { id };
    },
  );

  app.get(
    '/v1/patients/:id',
    {
      config: { scope: 'patients:read' },
      schema: {
        tags: ['patients'],
        summary: 'Read a patient',
        params: patientId,
        response: { 200: patientView, ...problemResponses(401, 403, 404, 422, 429) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      return readPatient(caller.clinicId, request.params.id, caller.actor);
    },
  );

  app.patch(
    '/v1/patients/:id',
    {
      config: { scope: 'patients:write' },
      schema: {
        tags: ['patients'],
        summary: "Change a patient's preferences or status (deactivate, or record a death)",
        description:
          "Running journeys re-plan with new preferences; an inactive or deceased patient's journeys end and nothing more is sent.",
        params: patientId,
        body: z
          .object({
            language: languageTag.optional(),
            timeZone: timeZone.optional(),
            preferredChannel: z.enum(CHANNELS).optional(),
            status: z.enum(PATIENT_STATUSES).optional(),
          })
          .strict()
          .refine((body) => Object.keys(body).length > 0, 'name at least one field to change'),
        response: { 200: patientView, ...problemResponses(400, 401, 403, 404, 415, 422, 429) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      await updatePatientPreferences(deps, caller.clinicId, request.params.id, request.body, caller.actor);
      return readPatient(caller.clinicId, request.params.id, caller.actor);
    },
  );

  app.get(
    '/v1/patients/:id/consents',
    {
      config: { scope: 'patients:read' },
      schema: {
        tags: ['patients'],
        summary: "A patient's consent history, newest first (the latest per channel and category holds)",
        params: patientId,
        response: {
          200: z.object({ consents: z.array(consentView) }),
          ...problemResponses(401, 403, 404, 422, 429),
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { clinicId } = caller;
      const consents = await withClinic(deps.db, clinicId, async (tx) => {
        const patient = await getPatient(tx, deps.cipher, caller.actor, clinicId, request.params.id);
        return patient && consentHistory(tx, deps.cipher, clinicId, patient.id);
      });
      if (!consents) throw new ApiProblem('not-found', 'no such patient in this clinic');
      return { consents: consents.map((consent) => ({ ...consent, recordedAt: iso(consent.recordedAt) })) };
    },
  );

  app.post(
    '/v1/patients/:id/consents',
    {
      config: { scope: 'patients:write' },
      schema: {
        tags: ['patients'],
        summary: 'Record a consent decision with its evidence (appended; never overwrites)',
        description: "A revocation reaches the patient's running journeys at once.",
        params: patientId,
        body: consentInput,
        response: {
          201: z.object({ recorded: z.literal(true) }),
          ...problemResponses(400, 401, 403, 404, 415, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      await recordPatientConsent(deps, caller.clinicId, request.params.id, request.body, caller.actor);
      return reply.code(201).send({ recorded: true });
    },
  );

  app.get(
    '/v1/patients/:id/timeline',
    {
      config: { scope: 'patients:read' },
      schema: {
        tags: ['patients'],
        summary: "A patient's timeline: deliveries with status and reason, journeys, and who did what",
        params: patientId,
        response: { 200: timelineView, ...problemResponses(401, 403, 404, 422, 429) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { clinicId } = caller;
      const id = request.params.id;
      const timeline = await withClinic(deps.db, clinicId, async (tx) => {
        const patient = await getPatient(tx, deps.cipher, caller.actor, clinicId, id);
        if (!patient) return undefined;
        const [deliveries, enrollments, events, replies] = await Promise.all([
          patientDeliveries(tx, clinicId, id),
          patientEnrollments(tx, clinicId, id),
          auditTrail(tx, clinicId, id),
          patientReplies(tx, clinicId, id),
        ]);
        return { deliveries, enrollments, events, replies };
      });
      if (!timeline) throw new ApiProblem('not-found', 'no such patient in this clinic');
      return {
        deliveries: timeline.deliveries.map((delivery) => ({
          id: delivery.id,
          journey: delivery.journeyKey,
          template: delivery.template,
          variant: delivery.variant,
          category: delivery.category,
          channel: delivery.channel,
          language: delivery.language,
          languageFallback: delivery.languageFallback,
          status: delivery.status,
          reason: delivery.reason,
          dueAt: iso(delivery.dueAt),
          completedAt: isoOrNull(delivery.completedAt),
        })),
        enrollments: timeline.enrollments.map((enrollment) => ({
          id: enrollment.id,
          journey: enrollment.journeyKey,
          version: enrollment.journeyVersion,
          status: enrollment.status,
          outcome: enrollment.outcome,
          endReason: enrollment.endReason,
          startedAt: iso(enrollment.startedAt),
          endedAt: isoOrNull(enrollment.endedAt),
        })),
        events: timeline.events.map((event) => ({ ...event, at: iso(event.at) })),
        replies: timeline.replies.map(viewOfReply),
      };
    },
  );
  return Promise.resolve();
};
