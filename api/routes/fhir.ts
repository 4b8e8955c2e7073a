// FHIR R4 for EHR integrations: a Bundle (batch, transaction or collection) or a single resource, mapped
// to the same patients, consents and events as the rest of the API. Real exports are large, so a bundle is
// processed in the background like an import: answered with the batch-response when it finishes within a
// few seconds, otherwise 202 with the job to poll (FHIR's asynchronous pattern). Transactions are applied
// entry by entry, like batches: a bad entry never undoes the good ones.
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getImportJob, type ImportJob } from '../../db/queries/import-jobs';
import { withClinic } from '../../db/tenant';
import { capabilityStatement, mapFhirInput } from '../../fhir/map-bundle';
import { submitImport, type ImportResult } from '../../usecases/imports';
import { callerOf } from '../auth';
import { ApiProblem, problemResponses } from '../problems';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
/** How long a POST waits for its bundle before answering 202. */
const SYNC_WAIT_MS = 8_000;

const fhirResource = z.record(z.string(), z.unknown()).describe('A FHIR R4 resource (JSON)');
const jobParams = z.object({ id: z.uuid('must be a job id (UUID)') });
const bundleAccepted = z
  .object({ job: z.uuid(), status: z.string(), processed: z.number(), total: z.number().nullable() })
  .meta({ id: 'BundleAccepted' });

/** The batch-response Bundle of a finished job, one entry per input entry in the input's order. */
function batchResponse(job: ImportJob) {
  const results = [...(job.results as ImportResult[])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  return {
    resourceType: 'Bundle',
    type: 'batch-response',
    entry: results.map((result) => ({
      response: {
        status: result.status,
        // carebell's own id of a patient the entry created or updated.
        ...(result.id && (result.outcome === 'created' || result.outcome === 'updated')
          ? { location: `Patient/${result.id}` }
          : {}),
        ...(result.problem
          ? {
              outcome: {
                resourceType: 'OperationOutcome',
                issue: [
                  {
                    severity: result.outcome === 'failed' ? 'error' : 'information',
                    code: result.outcome === 'failed' ? 'processing' : 'not-supported',
                    diagnostics: result.problem,
                  },
                ],
              },
            }
          : {}),
      },
    })),
  };
}

export const fhirRoutes: FastifyPluginAsyncZod = (app) => {
  const { deps } = app;
  const base = `${deps.publicUrl}/fhir/r4`;

  const readJob = (clinicId: string, id: string) =>
    withClinic(deps.db, clinicId, (tx) => getImportJob(tx, clinicId, id));

  app.get(
    '/fhir/r4/metadata',
    {
      schema: {
        tags: ['fhir'],
        summary: 'The CapabilityStatement: what this FHIR endpoint supports',
        security: [],
        response: { 200: fhirResource },
      },
    },
    async (_request, reply) =>
      reply.header('content-type', FHIR_JSON).send(capabilityStatement(base) as Record<string, unknown>),
  );

  app.post(
    '/fhir/r4',
    {
      config: { scope: 'ehr:write' },
      bodyLimit: app.bulkBodyLimit,
      schema: {
        tags: ['fhir'],
        summary: 'Post a Bundle (batch, transaction or collection) or a single resource',
        description:
          'Patient, MedicationDispense, MedicationRequest, Appointment, Coverage, Procedure, Observation and Consent are used; other types are counted and skipped. Answers the batch-response when done within seconds, otherwise 202 with Content-Location to poll.',
        body: fhirResource,
        response: {
          200: fhirResource,
          202: bundleAccepted,
          ...problemResponses(400, 401, 403, 413, 415, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const mapped = mapFhirInput(request.body);
      if (!mapped.ok)
        throw new ApiProblem('validation-error', mapped.problem, [
          { field: 'body', message: mapped.problem },
        ]);
      const content = Buffer.from(JSON.stringify(request.body));
      const { job } = await submitImport(deps, caller.clinicId, 'fhir-bundle', content, caller.actor);
      const deadline = Date.now() + SYNC_WAIT_MS;
      let current: ImportJob | undefined = job;
      while (current && current.status !== 'done' && current.status !== 'failed' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        current = await readJob(caller.clinicId, job.id);
      }
      return answerJob(reply, current ?? job);
    },
  );

  app.get(
    '/fhir/r4/_jobs/:id',
    {
      config: { scope: 'ehr:write' },
      schema: {
        tags: ['fhir'],
        summary: 'A posted bundle: 202 with progress while it runs, then its batch-response',
        params: jobParams,
        response: {
          200: fhirResource,
          202: bundleAccepted,
          ...problemResponses(401, 403, 404, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const job = await readJob(callerOf(request).clinicId, request.params.id);
      if (!job || job.kind !== 'fhir-bundle')
        throw new ApiProblem('not-found', 'no such bundle job in this clinic');
      return answerJob(reply, job);
    },
  );

  function answerJob(reply: FastifyReply, job: ImportJob) {
    if (job.status === 'failed')
      throw new ApiProblem('validation-error', job.error ?? 'the bundle could not be read');
    if (job.status === 'done')
      return reply.code(200).header('content-type', FHIR_JSON).send(batchResponse(job));
    return reply
      .code(202)
      .header('content-location', `${base}/_jobs/${job.id}`)
      .header('x-progress', `${job.processed} of ${job.total ?? '?'} entries`)
      .header('retry-after', '2')
      .send({ job: job.id, status: job.status, processed: job.processed, total: job.total });
  }
  return Promise.resolve();
};
