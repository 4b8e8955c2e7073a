// Asynchronous bounces from the SMTP relay or email provider, in one documented shape, authenticated by an
// HMAC-SHA256 signature of the raw body under EMAIL_BOUNCE_WEBHOOK_SECRET:
//   Carebell-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
// A missing signature is 401, a wrong or stale one 403; neither changes anything.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { handleEmailBounce } from '../../usecases/email-bounces';
import { ApiProblem, problemResponses } from '../problems';

/** A signature older (or newer) than this is refused, so a captured request cannot be replayed later. */
const TOLERANCE_SECONDS = 300;

export const SIGNATURE_HEADER = 'carebell-signature';

export const emailBounce = z
  .object({
    messageId: z
      .string()
      .min(3)
      .max(998)
      .describe('The Message-ID of the bounced email, with or without angle brackets'),
    recipient: z.email().max(320).describe('The address that bounced'),
    type: z.enum(['hard', 'soft']).describe('hard: permanent (5xx); soft: transient (4xx)'),
    diagnostic: z
      .string()
      .max(2000)
      .optional()
      .describe('The relay\'s diagnostic, e.g. "smtp; 550 5.1.1 user unknown"; only the codes are kept'),
  })
  .meta({ id: 'EmailBounce' });

const bounceOutcome = z
  .object({
    matched: z.boolean().describe('false: no email carebell sent has this Message-ID and recipient'),
    deliveryId: z.uuid().optional(),
    action: z.enum(['suppressed-and-falling-back', 'recorded']).optional(),
  })
  .meta({ id: 'EmailBounceOutcome' });

/** The signature header's value for this body, as a bounce sender computes it. */
export function signBounce(secret: string, rawBody: string, at = Math.floor(Date.now() / 1000)): string {
  return `t=${at},v1=${createHmac('sha256', secret).update(`${at}.${rawBody}`).digest('hex')}`;
}

function verify(secret: string, header: string, rawBody: string, now: number): boolean {
  const parts = Object.fromEntries(
    header.split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()];
    }),
  );
  const at = Number(parts.t);
  if (!Number.isInteger(at) || Math.abs(now - at) > TOLERANCE_SECONDS) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${at}.${rawBody}`).digest('hex'));
  const given = Buffer.from(String(parts.v1 ?? ''));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function signatureProblem(
  secret: string | undefined,
  header: string | string[] | undefined,
  rawBody: string | undefined,
): ApiProblem | undefined {
  if (!secret) return new ApiProblem('not-found', 'the bounce webhook is not configured');
  if (typeof header !== 'string' || header.length === 0)
    return new ApiProblem('signature-required', `sign the body in the ${SIGNATURE_HEADER} header`);
  if (!verify(secret, header, rawBody ?? '', Math.floor(Date.now() / 1000)))
    return new ApiProblem('invalid-signature');
  return undefined;
}

export const emailBounceRoutes: FastifyPluginAsyncZod = (app) => {
  // The signature covers the bytes as sent: keep them beside the parsed body (this plugin only).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = String(body);
    try {
      done(null, JSON.parse(String(body)));
    } catch {
      done(new ApiProblem('malformed-request', 'the body is not JSON'), undefined);
    }
  });

  app.post(
    '/webhooks/email/bounce',
    {
      // Before the body is validated: an unsigned request learns nothing, not even what the schema wants.
      preValidation: (request, _reply, done) => {
        done(signatureProblem(app.bounceWebhookSecret, request.headers[SIGNATURE_HEADER], request.rawBody));
      },
      schema: {
        tags: ['webhooks'],
        summary: 'Report an email bounce (hard: suppress the address and fall back to SMS)',
        description: `Signed with EMAIL_BOUNCE_WEBHOOK_SECRET: header \`${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>\`, within ${TOLERANCE_SECONDS} s. The same report sent again changes nothing more.`,
        security: [],
        body: emailBounce,
        response: { 200: bounceOutcome, ...problemResponses(400, 401, 403, 404, 413, 415, 422, 429) },
      },
    },
    async (request) => handleEmailBounce(app.deps, request.body),
  );
  return Promise.resolve();
};

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string;
  }
  interface FastifyInstance {
    bounceWebhookSecret?: string;
  }
}
