// Reports per clinic and journey over a date range, as JSON or CSV.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { getClinic } from '../../db/queries/clinics';
import { withClinic } from '../../db/tenant';
import { isoDate } from '../../domain/patient-input';
import { slug } from '../../journeys/schema';
import { clinicReport, reportCsv } from '../../usecases/reports';
import { callerOf } from '../auth';
import { ApiProblem, problemResponses } from '../problems';

const tally = {
  sent: z.number(),
  delivered: z.number(),
  failed: z.number(),
  suppressed: z.number(),
  pending: z.number(),
};

const reportView = z
  .object({
    from: z.string(),
    to: z.string(),
    journey: z.string().nullable(),
    totals: z.object({
      ...tally,
      enrolled: z.number(),
      goalMet: z.number(),
      optedOut: z.number(),
      languageFallbacks: z.number(),
    }),
    suppressedByReason: z.record(z.string(), z.number()),
    failedByReason: z.record(z.string(), z.number()),
    byJourney: z.array(
      z.object({
        journey: z.string(),
        ...tally,
        enrolled: z.number(),
        goalMet: z.number(),
        ended: z.number(),
        active: z.number(),
      }),
    ),
    byChannel: z.array(z.object({ channel: z.string(), ...tally })),
    byLanguage: z.array(z.object({ language: z.string(), ...tally })),
    byVariant: z.array(z.object({ journey: z.string(), variant: z.string(), ...tally })),
    variantOutcomes: z.array(
      z.object({
        journey: z.string(),
        step: z.string(),
        variant: z.string(),
        enrolled: z.number(),
        goalMet: z.number(),
      }),
    ),
    optedOutByChannel: z.record(z.string(), z.number()),
  })
  .meta({ id: 'Report' });

export const reportRoutes: FastifyPluginAsyncZod = (app) => {
  app.get(
    '/v1/reports',
    {
      config: { scope: 'reports:read' },
      schema: {
        tags: ['reports'],
        summary: "What the clinic's journeys did between two dates (in the clinic's zone, `to` inclusive)",
        description:
          'Enrolled (by start), sent, delivered, failed, suppressed by reason (by due time), opted out, goal met; split by journey, channel, language and A/B variant. `format=csv` answers text/csv.',
        querystring: z
          .object({
            from: isoDate,
            to: isoDate,
            journey: slug.optional(),
            format: z.enum(['json', 'csv']).default('json'),
          })
          .strict()
          .refine((query) => query.from <= query.to, { message: 'from must not be after to', path: ['from'] })
          .refine(
            (query) => DateTime.fromISO(query.to).diff(DateTime.fromISO(query.from), 'days').days <= 3660,
            {
              message: 'at most ten years at a time',
              path: ['to'],
            },
          ),
        response: { 200: reportView, ...problemResponses(401, 403, 422, 429) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const { from, to, journey, format } = request.query;
      const clinic = await withClinic(app.deps.db, caller.clinicId, (tx) => getClinic(tx, caller.clinicId));
      if (!clinic) throw new ApiProblem('not-found', 'no such clinic');
      const day = (date: string) => DateTime.fromISO(date, { zone: clinic.timeZone });
      const report = await clinicReport(
        app.deps.db,
        {
          clinicId: caller.clinicId,
          from: day(from).toJSDate(),
          to: day(to).plus({ days: 1 }).toJSDate(),
          journey,
        },
        caller.actor,
      );
      if (format === 'csv')
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="carebell-report-${from}-${to}.csv"`)
          .serializer((payload: unknown) => payload as string)
          .send(reportCsv(report) as never);
      return report;
    },
  );
  return Promise.resolve();
};
