// `Idempotency-Key`: an integration that timed out sends the same request again and gets the first answer,
// not a second action. The same key with another body is a client bug and is refused (409); a request
// still running under the key is refused too, so two cannot act at once. Failures on carebell's side free
// the key, so a retry is acted on.
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  claimIdempotencyKey,
  completeIdempotentRequest,
  IN_PROGRESS,
  releaseIdempotencyKey,
} from '../db/queries/idempotent-requests';
import { withClinic } from '../db/tenant';
import { callerOf } from './auth';
import { ApiProblem, problemBody, toProblem, type Problem } from './problems';

export const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1, 'send an Idempotency-Key header (any unique string up to 255 characters)')
    .max(255, 'must be at most 255 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
});

/** Key order does not make two bodies different. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

export async function idempotently<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  key: string,
  work: () => Promise<{ status: number; body: T }>,
): Promise<T> {
  const { db, cipher } = request.server.deps;
  const { clinicId } = callerOf(request);
  const keyHash = cipher.blindIndex('idempotency-key', clinicId, key);
  const route = `${request.method} ${request.routeOptions.url}`;
  const bodyHash = createHash('sha256').update(canonical(request.body)).digest('hex');
  const earlier = await withClinic(db, clinicId, (tx) =>
    claimIdempotencyKey(tx, { clinicId, keyHash, route, bodyHash }),
  );
  if (earlier) {
    if (earlier.route !== route || earlier.bodyHash !== bodyHash)
      throw new ApiProblem(
        'idempotency-key-reused',
        'this Idempotency-Key was first used with another request',
      );
    if (earlier.statusCode === IN_PROGRESS)
      throw new ApiProblem(
        'conflict',
        'a request with this Idempotency-Key is still being answered; retry shortly',
        undefined,
        {
          'retry-after': '1',
        },
      );
    reply.header('idempotent-replayed', 'true');
    if (earlier.statusCode >= 400) throw ApiProblem.fromBody(earlier.response as Problem);
    reply.code(earlier.statusCode);
    return earlier.response as T;
  }
  try {
    const { status, body } = await work();
    await withClinic(db, clinicId, (tx) => completeIdempotentRequest(tx, clinicId, keyHash, status, body));
    reply.code(status);
    return body;
  } catch (error) {
    // A refusal is the answer to this request, given again on a retry; anything else may succeed later.
    const problem = toProblem(error as Error);
    if (problem.status < 500) {
      const body = problemBody(problem.problemType, request.id, problem.detail, problem.errors);
      await withClinic(db, clinicId, (tx) =>
        completeIdempotentRequest(tx, clinicId, keyHash, body.status, body),
      );
    } else {
      await withClinic(db, clinicId, (tx) => releaseIdempotencyKey(tx, clinicId, keyHash));
    }
    throw error;
  }
}
