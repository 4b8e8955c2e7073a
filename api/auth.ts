// Who is calling: a clinic's API key, from `Authorization: Bearer cb_…`. Routes name the scope they need
// (config.scope); a route without one is public (health, docs). Denials are audited with the key.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiKeyByPrefix, recordApiKeyUse } from '../db/queries/api-keys';
import { appendAudit } from '../db/queries/audit';
import { withClinic } from '../db/tenant';
import { apiKeyMatches, apiKeyPrefix, type ApiScope } from '../security/api-key';
import { ApiProblem } from './problems';

export interface Caller {
  keyId: string;
  clinicId: string;
  scopes: string[];
  /** How the audit log names this caller. */
  actor: string;
}

/** A key's last use is written at most this often, so that reads do not each cost a write. */
const LAST_USE_GRANULARITY_MS = 60_000;

const bearer = (request: FastifyRequest) => {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
};

/** Rate limits count per key (by its public prefix), or per address for requests without one. */
export const rateLimitKey = (request: FastifyRequest) => {
  const key = bearer(request);
  const prefix = key && apiKeyPrefix(key);
  return prefix ? `key:${prefix}` : `ip:${request.ip}`;
};

export async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const scope = request.routeOptions.config.scope;
  if (!scope) return;
  const { db } = request.server.deps;
  const key = bearer(request);
  const prefix = key && apiKeyPrefix(key);
  const found = prefix ? await apiKeyByPrefix(db, prefix) : undefined;
  if (!key || !found || !apiKeyMatches(key, found.keyHash))
    throw new ApiProblem('unauthorized', 'send an API key as Authorization: Bearer cb_…', undefined, {
      'www-authenticate': 'Bearer realm="carebell"',
    });
  if (found.revokedAt)
    throw new ApiProblem('unauthorized', 'this API key was revoked', undefined, {
      'www-authenticate': 'Bearer realm="carebell", error="invalid_token"',
    });
  const caller: Caller = {
    keyId: found.id,
    clinicId: found.clinicId,
    scopes: found.scopes,
    actor: `api-key:${prefix}`,
  };
  if (!found.scopes.includes(scope)) {
    await withClinic(db, found.clinicId, (tx) =>
      appendAudit(tx, {
        actor: caller.actor,
        clinicId: found.clinicId,
        action: `api.${scope}`,
        objectType: 'api-route',
        objectId: `${request.method} ${request.routeOptions.url}`,
        outcome: 'denied',
      }),
    );
    throw new ApiProblem('forbidden', `this needs the ${scope} scope`);
  }
  if (!found.lastUsedAt || Date.now() - found.lastUsedAt.getTime() > LAST_USE_GRANULARITY_MS)
    await withClinic(db, found.clinicId, (tx) => recordApiKeyUse(tx, found.clinicId, found.id));
  request.caller = caller;
}

/** The caller of a route that requires a scope (authenticate() has run). */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new Error(`route ${request.routeOptions.url} has no scope but reads its caller`);
  return request.caller;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: ApiScope;
  }
  interface FastifyRequest {
    caller?: Caller;
  }
}
