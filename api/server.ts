// The HTTP front door: EHR integrations and clinics reach carebell here. Request and response schemas are
// the zod definitions that validate them, so /openapi.json is the contract the server keeps; every error
// is application/problem+json with a stable type; a key only ever sees its own clinic.
import { randomUUID } from 'node:crypto';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyError, type FastifyReply } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from '../infra/logger';
import type { EnrollmentDeps } from '../usecases/enroll';
import { authenticate, rateLimitKey } from './auth';
import { ApiProblem, problemBody, toProblem } from './problems';
import { emailBounceRoutes } from './routes/email-bounces';
import { eventRoutes } from './routes/events';
import { fhirRoutes } from './routes/fhir';
import { importRoutes } from './routes/imports';
import { journeyRoutes } from './routes/journeys';
import { deliveryRoutes } from './routes/deliveries';
import { enrollmentRoutes } from './routes/enrollments';
import { patientRoutes } from './routes/patients';
import { pickupRoutes } from './routes/pickup';
import { reportRoutes } from './routes/reports';
import { twilioWebhookRoutes } from './routes/twilio-webhooks';
import { unsubscribeRoutes } from './routes/unsubscribe';
import { createTranslator, type Translator } from '../locales';

export interface ApiDeps extends EnrollmentDeps {
  log: Logger;
  /** Where the API is reached from outside: links in the docs and in FHIR answers. */
  publicUrl: string;
  /** The time-skipping test server journey previews run on, found (or built) on the first preview. */
  previewServerPath: () => Promise<string | undefined>;
  /**
   * Twilio's webhooks: the auth token their signatures are checked with, and the deployment's own number
   * (shared by clinics without one). Unset, the webhooks refuse every request.
   */
  twilio?: { authToken: string; sharedNumber?: string };
  /** For SMS answers (HELP, STOP confirmations); made on start when not given. */
  translator?: Translator;
}

export interface ApiOptions {
  /** Requests per key (or per address without one) per minute. */
  rateLimitPerMinute?: number;
  /** JSON bodies; bulk uploads (CSV, FHIR bundles) have their own, larger limit. */
  bodyLimitBytes?: number;
  bulkBodyLimitBytes?: number;
  /** HMAC secret of POST /webhooks/email/bounce; unset, the webhook answers 404. */
  bounceWebhookSecret?: string;
}

export type Api = Awaited<ReturnType<typeof buildApi>>;

const REQUEST_ID = /^[\w.-]{8,64}$/;

export async function buildApi(deps: ApiDeps, options: ApiOptions = {}) {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'api' }),
    // Only ids and routes are logged: never a body or a query string (they carry PHI).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { coerceTypes: false } },
    // A URL that cannot be decoded or an over-long path parameter is refused before routing; Fastify's own
    // answer to it is plain JSON quoting the path, which may carry PHI.
    frameworkErrors: (error, request, reply) => {
      void sendProblem(reply, request.id, toProblem(error));
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate('deps', { ...deps, translator: deps.translator ?? (await createTranslator()) });
  app.decorate('bulkBodyLimit', options.bulkBodyLimitBytes ?? 64 * 1024 * 1024);
  app.decorate('bounceWebhookSecret', options.bounceWebhookSecret);

  app.addContentTypeParser(
    ['application/fhir+json', 'application/merge-patch+json'],
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );
  app.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );

  // Closing, Fastify closes the keep-alive connections idle at that moment, once. One whose request was in
  // flight stays open after its answer until the keep-alive timeout (72 s), holding the close that long:
  // reaping idle connections until the server has closed lets shutdown end with the last answer.
  let reaper: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    reaper = setInterval(() => app.server.closeIdleConnections(), 50).unref();
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    clearInterval(reaper);
    done();
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('cache-control', 'no-store');
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        requestId: request.id,
        method: request.method,
        route: request.routeOptions.url ?? '(unknown)',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        key: request.caller?.keyId,
      },
      'request',
    );
  });

  await app.register(fastifyRateLimit, {
    max: options.rateLimitPerMinute ?? 1200,
    timeWindow: 60_000,
    keyGenerator: rateLimitKey,
    errorResponseBuilder: (_request, context) =>
      new ApiProblem(
        'rate-limited',
        `at most ${context.max} requests a minute; retry after ${context.after}`,
      ),
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'carebell API',
        version: '1.0.0',
        description:
          'Patients, consents, EHR events and FHIR R4, journeys, enrollments, reports and bulk import for one clinic per API key. Errors are application/problem+json.',
      },
      servers: [{ url: deps.publicUrl }],
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'cb_… API key' } },
      },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (documentObject) => asProblemJson(jsonSchemaTransformObject(documentObject)),
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true });

  app.get('/openapi.json', { schema: { hide: true } }, (_request, reply) => reply.send(app.swagger()));
  app.get('/health', { schema: { hide: true } }, (_request, reply) => reply.send({ status: 'ok' }));

  // Before the routes: plugins registered later inherit them.
  app.setNotFoundHandler((request, reply) => {
    void sendProblem(reply, request.id, new ApiProblem('not-found', 'no such route'));
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = toProblem(error);
    // Only the kind of error: its message may quote a value (PHI).
    if (problem.status >= 500)
      request.log.error(
        { requestId: request.id, err: { type: error.name, code: error.code } },
        'request failed',
      );
    return sendProblem(reply, request.id, problem);
  });
  app.addHook('onRequest', authenticate);

  await app.register(patientRoutes);
  await app.register(eventRoutes);
  await app.register(fhirRoutes);
  await app.register(journeyRoutes);
  await app.register(enrollmentRoutes);
  await app.register(reportRoutes);
  await app.register(importRoutes);
  await app.register(deliveryRoutes);
  await app.register(pickupRoutes);
  await app.register(twilioWebhookRoutes);
  // Public: the patient's unsubscribe link, and the relay's signed bounce reports.
  await app.register(unsubscribeRoutes);
  await app.register(emailBounceRoutes);

  return app;
}

function sendProblem(reply: FastifyReply, requestId: string, problem: ApiProblem) {
  const body = problemBody(problem.problemType, requestId, problem.detail, problem.errors);
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  // Serialized here, not by the route's schema: a problem is the same whatever route gave it.
  return reply
    .code(body.status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .serializer((payload: unknown) => JSON.stringify(payload))
    .send(body);
}

/** In the document, every 4xx and 5xx answer is application/problem+json, as the server sends it. */
function asProblemJson<T>(document: T): T {
  const paths =
    (
      document as {
        paths?: Record<
          string,
          Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>
        >;
      }
    ).paths ?? {};
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (!/^[45]/.test(status) || !response.content?.['application/json']) continue;
        response.content = { 'application/problem+json': response.content['application/json'] };
      }
    }
  }
  return document;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: ApiDeps;
    bulkBodyLimit: number;
  }
}
