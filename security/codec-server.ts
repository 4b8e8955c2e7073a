// Temporal's remote codec protocol (POST /encode, /decode), so the Temporal web UI can show decrypted
// payloads to an operator who presents a valid bearer token. Every request is audited, whether it
// succeeds, fails or is refused; refusals beyond a number a minute are answered 429 and audited as a
// count. Without a token the UI shows only ciphertext.
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload } from '@temporalio/common';
import type { Database } from '../db/client';
import { parseJson } from '../lib/json-file';
import { appendAudit } from '../db/queries/audit';
import { EncryptionCodec } from './payload-codec';
import type { KeyRing } from './key-ring';
import { checkOperatorTokens, type Operator } from './operators';
import { RefusalBrake } from './refusal-brake';

export interface CodecServer {
  url: string;
  close: () => Promise<void>;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const MAX_BODY = 4 * 1024 * 1024;

export async function startCodecServer(options: {
  port: number;
  host?: string;
  keyRing: KeyRing;
  reloadKeyRing?: () => KeyRing;
  operators: Operator[];
  /** Origin of the Temporal UI allowed to call from the browser. */
  allowedOrigin: string;
  /** Application connection, for the audit log. */
  db: Database;
  /** Refused requests audited one by one per minute; beyond, 429 and one row with their count. */
  refusalsAuditedPerMinute?: number;
}): Promise<CodecServer> {
  const operators = checkOperatorTokens(options.operators, 'codec endpoint');
  const brake = new RefusalBrake(options.refusalsAuditedPerMinute ?? 20, 60_000);
  // No workflow context reaches this endpoint: it reads a payload's binding from its metadata (still
  // authenticated), and shows unencrypted payloads as they are, for an operator investigating them.
  const codec = new EncryptionCodec(options.keyRing, { reload: options.reloadKeyRing, plaintext: 'pass' });

  function operatorFor(header: string | undefined): Operator | undefined {
    const presented = Buffer.from(header?.replace(/^Bearer\s+/i, '') ?? '');
    return operators.find((operator) => {
      const expected = Buffer.from(operator.token);
      return expected.length === presented.length && timingSafeEqual(expected, presented);
    });
  }

  const server = http.createServer((request, response) => {
    response.setHeader('Access-Control-Allow-Origin', options.allowedOrigin);
    response.setHeader('Access-Control-Allow-Credentials', 'true');
    response.setHeader('Access-Control-Allow-Headers', 'authorization, content-type, x-namespace');
    response.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    response.setHeader('Vary', 'Origin');
    if (request.method === 'OPTIONS') {
      response.writeHead(204).end();
      return;
    }
    void handle(request, response).catch(() =>
      problem(response, 500, 'codec-error', 'the payloads could not be processed'),
    );
  });

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const direction = request.url === '/decode' ? 'decode' : request.url === '/encode' ? 'encode' : undefined;
    if (request.method !== 'POST' || !direction)
      return problem(response, 404, 'not-found', 'POST /encode or /decode');
    const operator = operatorFor(request.headers.authorization);
    if (!operator) return refuse(direction, response);

    const audit = (outcome: 'success' | 'failure', objectId: string | null) =>
      appendAudit(options.db, {
        actor: `operator:${operator.name}`,
        clinicId: null,
        action: `temporal.${direction}`,
        objectType: 'payloads',
        objectId,
        outcome,
      });
    let body: { payloads?: JsonPayload[] };
    try {
      body = parseJson(await readBody(request), 'the body') as { payloads?: JsonPayload[] };
    } catch (error) {
      await audit('failure', 'invalid-body');
      return problem(response, 400, 'invalid-body', (error as Error).message);
    }
    if (!Array.isArray(body.payloads)) {
      await audit('failure', 'invalid-body');
      return problem(response, 400, 'invalid-body', 'expected {"payloads": [...]}');
    }
    let result: Payload[];
    try {
      const payloads = body.payloads.map(fromJson);
      result = direction === 'decode' ? await codec.decode(payloads) : await codec.encode(payloads);
    } catch {
      await audit('failure', `${direction}-failed`);
      return problem(response, 400, `${direction}-failed`, `the payloads could not be ${direction}d`);
    }
    await audit('success', request.headers['x-namespace']?.toString() ?? null);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ payloads: result.map(toJson) }));
  }

  async function refuse(direction: string, response: http.ServerResponse): Promise<void> {
    const verdict = brake.admit();
    if (verdict.kind === 'throttle') {
      flushLater();
      response.setHeader('retry-after', String(verdict.retryAfter));
      return problem(response, 429, 'too-many-refusals', 'too many requests without a valid token');
    }
    await appendAudit(options.db, {
      actor: 'anonymous',
      clinicId: null,
      action: `temporal.${direction}`,
      objectType: 'payloads',
      outcome: 'denied',
    });
    return problem(response, 401, 'unauthorized', 'a valid operator bearer token is required');
  }

  /** Audits, once per window, how many refusals were answered 429 without a row of their own. */
  let flushTimer: NodeJS.Timeout | undefined;
  function flushLater(): void {
    flushTimer ??= setTimeout(() => {
      flushTimer = undefined;
      void flushThrottled();
    }, brake.untilWindowEnds()).unref();
  }
  async function flushThrottled(): Promise<void> {
    const count = brake.takeThrottled();
    if (count === 0) return;
    await appendAudit(options.db, {
      actor: 'anonymous',
      clinicId: null,
      action: 'temporal.refusals-throttled',
      objectType: 'payloads',
      objectId: String(count),
      outcome: 'denied',
    }).catch(() => undefined);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      clearTimeout(flushTimer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await flushThrottled();
    },
  };
}

function fromJson(payload: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
    ),
    data: Buffer.from(payload.data ?? '', 'base64'),
  };
}

function toJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [
        key,
        Buffer.from(value).toString('base64'),
      ]),
    ),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

function problem(response: http.ServerResponse, status: number, type: string, detail: string): void {
  response.writeHead(status, { 'content-type': 'application/problem+json' });
  response.end(
    JSON.stringify({
      type: `https://carebell.dev/problems/${type}`,
      title: http.STATUS_CODES[status],
      status,
      detail,
    }),
  );
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
