// Twilio's webhooks: SMS replies (/webhooks/twilio/inbound) and message status callbacks
// (/webhooks/twilio/status). Public (no API key), form-encoded, and trusted only when X-Twilio-Signature
// matches: an HMAC of the public URL Twilio called and the form's parameters under the account's auth
// token, checked with the Twilio SDK. A missing or wrong signature is 403 and changes nothing. Bodies are
// never logged (a reply is PHI).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import twilio from 'twilio';
import { z } from 'zod';
import { handleStatusCallback } from '../../usecases/delivery-status';
import { handleInboundSms } from '../../usecases/sms-replies';
import { ApiProblem, problemResponses } from '../problems';

const form = z.record(z.string(), z.string());
const inboundForm = form.and(z.object({ MessageSid: z.string().min(1), From: z.string(), To: z.string() }));
const statusForm = form.and(z.object({ MessageSid: z.string().min(1), MessageStatus: z.string().min(1) }));

export const twilioWebhookRoutes: FastifyPluginAsyncZod = (app) => {
  // Encapsulated: only these routes read form bodies.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  // Before the body is validated: an unsigned request learns nothing, not even what it got wrong.
  const signed = (request: FastifyRequest, _reply: unknown, done: (error?: Error) => void) => {
    const { twilio: settings, publicUrl } = request.server.deps;
    const signature = request.headers['x-twilio-signature'];
    const params = (request.body ?? {}) as Record<string, string>;
    const url = `${publicUrl}${request.url}`;
    if (
      !settings ||
      typeof signature !== 'string' ||
      !twilio.validateRequest(settings.authToken, signature, url, params)
    ) {
      request.log.warn(
        { requestId: request.id, route: request.routeOptions.url },
        'unsigned webhook refused',
      );
      return done(new ApiProblem('invalid-signature', 'X-Twilio-Signature does not match this request'));
    }
    done();
  };
  const config = { rateLimit: false } as const;

  app.post(
    '/webhooks/twilio/inbound',
    {
      preValidation: signed,
      config,
      schema: {
        summary: 'An SMS reply (Twilio webhook, signed)',
        tags: ['webhooks'],
        security: [],
        body: inboundForm,
        response: { 200: z.string(), ...problemResponses(403) },
      },
    },
    async (request, reply) => {
      const { deps } = request.server;
      const outcome = await handleInboundSms(
        { ...deps, translator: deps.translator!, sharedNumber: deps.twilio?.sharedNumber },
        {
          messageSid: request.body.MessageSid,
          from: request.body.From,
          to: request.body.To,
          body: request.body.Body ?? '',
        },
      );
      // The answer goes back in TwiML: Twilio sends it once, as the reply to this very message.
      const twiml = new twilio.twiml.MessagingResponse();
      if (outcome.reply) twiml.message(outcome.reply);
      return reply.type('text/xml; charset=utf-8').send(twiml.toString());
    },
  );

  app.post(
    '/webhooks/twilio/status',
    {
      preValidation: signed,
      config,
      schema: {
        summary: "A message's status (Twilio status callback, signed)",
        tags: ['webhooks'],
        security: [],
        body: statusForm,
        response: { 204: z.null(), ...problemResponses(403) },
      },
    },
    async (request, reply) => {
      const { deps } = request.server;
      await handleStatusCallback(deps, {
        messageSid: request.body.MessageSid,
        status: request.body.MessageStatus,
        errorCode: request.body.ErrorCode || undefined,
      });
      return reply.code(204).send(null);
    },
  );
  return Promise.resolve();
};
