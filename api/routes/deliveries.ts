// One delivery with what exactly it said (the message archive): for those allowed to read patients.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { appendAudit } from '../../db/queries/audit';
import { readDeliveryContent } from '../../db/queries/delivery-contents';
import { getDelivery } from '../../db/queries/deliveries';
import { withClinic } from '../../db/tenant';
import { CATEGORIES, CHANNELS } from '../../domain/messaging';
import { callerOf } from '../auth';
import { ApiProblem, problemResponses } from '../problems';

const deliveryView = z
  .object({
    id: z.uuid(),
    patientId: z.uuid(),
    journey: z.string().nullable(),
    template: z.string(),
    category: z.enum(CATEGORIES),
    channel: z.enum(CHANNELS).nullable(),
    language: z.string().nullable(),
    status: z.string(),
    reason: z.string().nullable(),
    dueAt: z.iso.datetime(),
    completedAt: z.iso.datetime().nullable(),
    content: z
      .object({
        templateVersion: z.string(),
        language: z.string(),
        sms: z.string().optional(),
        subject: z.string().optional(),
        text: z.string().optional(),
        html: z.string().optional(),
        details: z.record(z.string(), z.string()).nullable(),
        retainUntil: z.iso.datetime(),
      })
      .nullable()
      .describe('What was sent on the delivery channel, until the retention period ends (then null)'),
  })
  .meta({ id: 'Delivery' });

export const deliveryRoutes: FastifyPluginAsyncZod = (app) => {
  const { deps } = app;
  app.get(
    '/v1/deliveries/:id',
    {
      config: { scope: 'patients:read' },
      schema: {
        tags: ['deliveries'],
        summary: 'Read a delivery with the message it sent (the archive) and its pickup-only details',
        params: z.object({ id: z.uuid('must be a delivery id (UUID)') }),
        response: { 200: deliveryView, ...problemResponses(401, 403, 404, 422, 429) },
      },
    },
    async (request) => {
      const { clinicId, actor } = callerOf(request);
      const { id } = request.params;
      const found = await withClinic(deps.db, clinicId, async (tx) => {
        const delivery = await getDelivery(tx, clinicId, id);
        if (!delivery) return undefined;
        const content = await readDeliveryContent(tx, deps.cipher, clinicId, id);
        await appendAudit(tx, {
          actor,
          clinicId,
          action: 'delivery.read',
          objectType: 'delivery',
          objectId: id,
          outcome: 'success',
        });
        return { delivery, content };
      });
      if (!found) throw new ApiProblem('not-found', 'no such delivery in this clinic');
      const { delivery, content } = found;
      const sent = content?.rendered ?? {};
      return {
        id: delivery.id,
        patientId: delivery.patientId,
        journey: delivery.journeyKey,
        template: delivery.template,
        category: delivery.category,
        channel: delivery.channel,
        language: delivery.language,
        status: delivery.status,
        reason: delivery.reason,
        dueAt: delivery.dueAt.toISOString(),
        completedAt: delivery.completedAt?.toISOString() ?? null,
        content: content
          ? {
              templateVersion: content.templateVersion,
              language: content.language,
              ...(delivery.channel === 'email'
                ? { subject: sent.subject, text: sent.text, html: sent.html }
                : delivery.channel === 'sms'
                  ? { sms: sent.sms }
                  : sent),
              details: content.details,
              retainUntil: content.retainUntil.toISOString(),
            }
          : null,
      };
    },
  );
  return Promise.resolve();
};
