// Bulk import of a clinic's patients from CSV: answered at once with a job to poll; the same file uploaded
// again finds the same job and changes nothing.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getImportJob, type ImportJob } from '../../db/queries/import-jobs';
import { withClinic } from '../../db/tenant';
import { PATIENT_CSV_COLUMNS } from '../../imports/patients-csv';
import { submitImport } from '../../usecases/imports';
import { callerOf } from '../auth';
import { ApiProblem, problemResponses } from '../problems';

export const importView = z
  .object({
    id: z.uuid(),
    kind: z.enum(['patients-csv', 'fhir-bundle']),
    status: z.enum(['queued', 'running', 'done', 'failed']),
    total: z.number().int().nullable().describe('Rows or entries, once known'),
    processed: z.number().int(),
    succeeded: z.number().int(),
    failed: z.number().int(),
    skipped: z.number().int(),
    skippedTypes: z
      .record(z.string(), z.number())
      .describe('FHIR: resource types carebell does not use, counted'),
    error: z.string().nullable().describe('Why the upload as a whole could not be read (on)'),
    failures: z
      .array(
        z.object({
          line: z.number().optional(),
          index: z.number().optional(),
          status: z.string(),
          problem: z.string().optional(),
        }),
      )
      .describe('Each row (by line) or entry (by index) refused, with the reason; values are never quoted'),
    createdAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'ImportJob' });

interface StoredResult {
  line?: number;
  index?: number;
  outcome: string;
  status: string;
  problem?: string;
}

export function viewOfImport(job: ImportJob): z.infer<typeof importView> {
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    total: job.total,
    processed: job.processed,
    succeeded: job.succeeded,
    failed: job.failed,
    skipped: job.skipped,
    skippedTypes: job.skippedTypes,
    error: job.error,
    failures: (job.results as StoredResult[])
      .filter((result) => result.outcome === 'failed')
      .map(({ line, index, status, problem }) => ({ line, index, status, problem })),
    createdAt: job.createdAt.toISOString(),
    finishedAt: job.finishedAt === null ? null : job.finishedAt.toISOString(),
  };
}

export const importRoutes: FastifyPluginAsyncZod = (app) => {
  const { deps } = app;

  app.post(
    '/v1/imports/patients',
    {
      config: { scope: 'patients:write' },
      bodyLimit: app.bulkBodyLimit,
      schema: {
        tags: ['imports'],
        summary: 'Import patients from a CSV file (Content-Type: text/csv), in the background',
        description: `UTF-8 with or without a BOM, quoted fields allowed, a header row of these columns: ${PATIENT_CSV_COLUMNS.map(
          (column) => `${column.name}${column.required ? ' (required)' : ''}`,
        ).join(
          ', ',
        )}. Answers 202 with the job (poll its Location); rows with errors are reported by line and reason, good rows imported. The same file again answers the same job.`,
        response: { 200: importView, 202: importView, ...problemResponses(400, 401, 403, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      if (!Buffer.isBuffer(request.body) || request.body.length === 0)
        throw new ApiProblem(
          'unsupported-media-type',
          'send the CSV file as the body, with Content-Type: text/csv',
        );
      const { job } = await submitImport(deps, caller.clinicId, 'patients-csv', request.body, caller.actor);
      return reply
        .code(job.status === 'done' || job.status === 'failed' ? 200 : 202)
        .header('location', `/v1/imports/${job.id}`)
        .send(viewOfImport(job));
    },
  );

  app.get(
    '/v1/imports/:id',
    {
      config: { scope: 'patients:read' },
      schema: {
        tags: ['imports'],
        summary: 'Progress and outcome of an import (CSV or FHIR bundle)',
        params: z.object({ id: z.uuid('must be an import id (UUID)') }),
        response: { 200: importView, ...problemResponses(401, 403, 404, 422, 429) },
      },
    },
    async (request) => {
      const { clinicId } = callerOf(request);
      const job = await withClinic(deps.db, clinicId, (tx) => getImportJob(tx, clinicId, request.params.id));
      if (!job) throw new ApiProblem('not-found', 'no such import in this clinic');
      return viewOfImport(job);
    },
  );
  return Promise.resolve();
};
