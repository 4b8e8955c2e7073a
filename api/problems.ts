// RFC 9457 problem details: every error the API gives has a stable `type` integrators can switch on, the
// fields at fault, and the request id to quote to support. Nothing a client sent is echoed back (it may
// be PHI): messages name what was expected, and a field is named only when its name is a plain word.
import type { FastifyError } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CarebellError, InvalidField } from '../domain/errors';

export const PROBLEM_BASE = 'https://carebell.dev/problems/';

export const problemTypes = {
  'malformed-request': { status: 400, title: 'The request cannot be read' },
  unauthorized: { status: 401, title: 'A valid API key is required' },
  'signature-required': { status: 401, title: 'This webhook needs a signed request' },
  'invalid-signature': { status: 403, title: 'The request signature does not verify' },
  forbidden: { status: 403, title: 'The API key lacks the scope this needs' },
  'not-found': { status: 404, title: 'No such resource in this clinic' },
  'method-not-allowed': { status: 405, title: 'The resource does not support this method' },
  'idempotency-key-reused': {
    status: 409,
    title: 'This Idempotency-Key was used with another request body',
  },
  conflict: { status: 409, title: 'The resource is not in a state that allows this' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'unsupported-media-type': { status: 415, title: 'The request body has an unsupported content type' },
  'validation-error': { status: 422, title: 'The request is not valid' },
  'event-rejected': { status: 422, title: 'The event cannot be acted on as sent' },
  'rate-limited': { status: 429, title: 'Too many requests for this API key' },
  'internal-error': { status: 500, title: 'Something went wrong on our side' },
  unavailable: { status: 503, title: 'A service carebell depends on is unavailable' },
} as const;

export type ProblemType = keyof typeof problemTypes;

export const problemSchema = z
  .object({
    type: z.string().describe('A stable URI per kind of error'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    /** The request id, as logged. */
    instance: z.string().optional(),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('Each field at fault, by its path in the request (body.phones.0.number)'),
  })
  .meta({ id: 'Problem' });

export type Problem = z.infer<typeof problemSchema>;

/** The error a handler throws to answer with a problem. */
export class ApiProblem extends Error {
  constructor(
    readonly problemType: ProblemType,
    readonly detail?: string,
    readonly errors?: Problem['errors'],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? problemTypes[problemType].title);
  }

  get status(): number {
    return problemTypes[this.problemType].status;
  }

  /** A problem answered before (an idempotent replay), given again. */
  static fromBody(body: Problem): ApiProblem {
    const type = body.type.slice(PROBLEM_BASE.length);
    return type in problemTypes
      ? new ApiProblem(type as ProblemType, body.detail, body.errors)
      : new ApiProblem('internal-error');
  }
}

export function problemBody(
  type: ProblemType,
  requestId: string,
  detail?: string,
  errors?: Problem['errors'],
): Problem {
  const known = problemTypes[type];
  return {
    type: `${PROBLEM_BASE}${type}`,
    title: known.title,
    status: known.status,
    ...(detail === undefined ? {} : { detail }),
    instance: `urn:carebell:request:${requestId}`,
    ...(errors === undefined ? {} : { errors }),
  };
}

/** No digits: a key such as an MRN (MRN-00417) or a date is a value put where a field name goes. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z_-]{0,60}$/;

/**
 * A path segment as it may be shown: field names and indexes, never an unexpected key verbatim. Schema
 * errors arrive with their path as text, indexes included ("phones/0/number").
 */
const shown = (segment: PropertyKey) =>
  typeof segment === 'number' || /^\d{1,3}$/.test(String(segment)) || PLAIN_NAME.test(String(segment))
    ? String(segment)
    : '(field)';

/** One problem entry per zod issue, in the request's own terms (`body.phones.0.number`). */
export function fieldErrors(
  issues: { path: PropertyKey[]; message: string; code?: string; keys?: string[] }[],
  root: string,
): NonNullable<Problem['errors']> {
  return issues.flatMap((issue) => {
    const at = [root, ...issue.path.map(shown)].join('.');
    if (issue.code === 'unrecognized_keys')
      return (issue.keys ?? ['(field)']).map((key) => ({
        field: `${at}.${shown(key)}`,
        message: 'is not a field of this request',
      }));
    return [{ field: at, message: issue.message }];
  });
}

/** Every error status a route may answer with, for its OpenAPI responses. */
export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, problemSchema]));

/** Whatever went wrong, as the problem the client is told of (never the error's own message for 5xx). */
export function toProblem(error: FastifyError | Error): ApiProblem {
  if (error instanceof ApiProblem) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const root = error.validationContext ?? 'body';
    return new ApiProblem(
      'validation-error',
      `the ${root} does not match the schema`,
      fieldErrors(
        error.validation.map((issue) => ({
          path: issue.instancePath.split('/').filter(Boolean),
          message: issue.message ?? 'is not valid',
          code: issue.keyword,
          keys: (issue.params as { keys?: string[] }).keys,
        })),
        root,
      ),
    );
  }
  if (error instanceof InvalidField)
    return new ApiProblem('validation-error', error.message, [
      { field: `body.${error.field}`, message: error.reason },
    ]);
  if (error instanceof CarebellError) {
    if (error.type === 'PatientNotFound') return new ApiProblem('not-found');
    if (error.type === 'EventRejected') return new ApiProblem('event-rejected', error.message);
    if (error.type === 'InvalidInput') return new ApiProblem('validation-error', error.message);
  }
  const status = (error as FastifyError).statusCode ?? 500;
  const byCode: Record<string, ProblemType> = {
    FST_ERR_CTP_BODY_TOO_LARGE: 'payload-too-large',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'malformed-request',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed-request',
    FST_ERR_CTP_INVALID_JSON_BODY: 'malformed-request',
    FST_ERR_BAD_URL: 'malformed-request',
    FST_ERR_MAX_PARAM_LENGTH: 'not-found',
  };
  const known = byCode[(error as FastifyError).code];
  if (known) return new ApiProblem(known);
  if (status === 400) return new ApiProblem('malformed-request');
  if (status === 404) return new ApiProblem('not-found');
  if (status === 405) return new ApiProblem('method-not-allowed');
  if (status === 413) return new ApiProblem('payload-too-large');
  if (status === 415) return new ApiProblem('unsupported-media-type');
  if (status === 429) return new ApiProblem('rate-limited');
  return new ApiProblem('internal-error');
}
