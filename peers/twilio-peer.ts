// A local stand-in for Twilio's Messages API, good enough for the real `twilio` SDK: it checks the
// account's credentials, validates like Twilio (same error codes), records every message under its
// directory (the outside world's copy, kept apart from the engine's state) and can be told to fail the
// way Twilio does. Like Twilio, a new message is `queued` with no `date_sent` until it is sent a moment
// later (or until released, when held), and a list filtered by DateSent does not see it.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { isValidPhoneNumber } from 'libphonenumber-js';

export interface PeerMessage {
  sid: string;
  account_sid: string;
  to: string;
  from: string | null;
  messaging_service_sid: string | null;
  body: string;
  status: string;
  direction: string;
  num_segments: string;
  date_created: string;
  date_sent: string | null;
  date_updated: string;
  error_code: number | null;
  error_message: null;
  price: null;
  api_version: string;
  uri: string;
}

export interface PeerFault {
  status: number;
  /** Twilio's error code; by default 20429 for 429 and 20500 otherwise. */
  code?: number;
  /** Seconds, sent as a Retry-After header. */
  retryAfter?: number;
  /** Create the message first, then answer with the error (an ambiguous outcome for the caller). */
  afterCreate?: boolean;
}

export interface TwilioPeer {
  url: string;
  port: number;
  /** Every message as the outside world holds it now (sent ones with their date_sent). */
  messages(): PeerMessage[];
  /** The next `count` requests to the Messages API fail like this. */
  failNext(fault: PeerFault | number, count?: number): void;
  /** Messages created from now on stay queued (no date_sent) until `release()`. */
  holdQueued(): void;
  release(): void;
  /**
   * The next `count` message creations are held unanswered until `unstall()` (then handled as usual), so
   * a caller can be stopped mid-call. `afterCreate`: the message is created first and only the answer is
   * held. A caller that disconnects while held is never answered; without `afterCreate` its message is
   * never created.
   */
  stallNext(options?: { afterCreate?: boolean }, count?: number): void;
  /** Requests held by `stallNext` right now. */
  stalled(): number;
  unstall(): void;
  close(): Promise<void>;
}

// How long a message stays queued before Twilio sends it.
const QUEUED_FOR_MS = 300;

export interface TwilioPeerOptions {
  port: number;
  host?: string;
  dir: string;
  accountSid: string;
  authToken: string;
}

export async function startTwilioPeer(options: TwilioPeerOptions): Promise<TwilioPeer> {
  // What the outside world received (PHI): for this user alone.
  await fs.mkdir(options.dir, { recursive: true, mode: 0o700 });
  const messages = await loadMessages(options.dir);
  const faults: PeerFault[] = [];
  let holding = false;
  const stalls: { afterCreate: boolean }[] = [];
  const stalledNow = new Set<() => void>();
  // sid -> when it leaves the queue (undefined while held)
  const sendAt = new Map<string, number | undefined>();
  const view = (message: PeerMessage): PeerMessage => {
    if (!sendAt.has(message.sid)) return message;
    const at = sendAt.get(message.sid);
    if (at !== undefined && at <= Date.now()) {
      sendAt.delete(message.sid);
      message.status = 'sent';
      message.date_sent = new Date(at).toUTCString();
      message.date_updated = message.date_sent;
      return message;
    }
    return { ...message, status: 'queued', date_sent: null };
  };
  const expectedAuth = Buffer.from(
    `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`,
  );
  const authorised = (header: string | undefined) => {
    const presented = Buffer.from(header ?? '');
    return presented.length === expectedAuth.length && timingSafeEqual(presented, expectedAuth);
  };
  const base = `/2010-04-01/Accounts/${options.accountSid}/Messages`;

  const server = http.createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      reply(response, 500, twilioError(500, 20500, `internal error: ${String(error)}`));
    });
  });

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://peer');
    // Every endpoint, the listing of what was sent included, takes the account's credentials, as Twilio's.
    if (!authorised(request.headers.authorization)) {
      return reply(response, 401, twilioError(401, 20003, 'Authentication Error - invalid username'));
    }
    if (url.pathname === '/_peer/messages' && request.method === 'GET') {
      return reply(response, 200, { messages: messages.map(view) });
    }
    if (!url.pathname.startsWith(base)) {
      return reply(response, 404, twilioError(404, 20404, 'The requested resource was not found'));
    }
    const creating = url.pathname === `${base}.json` && request.method === 'POST';
    const stall = creating ? stalls.shift() : undefined;
    if (stall) return stalled(stall, request, response);
    const fault = faults.shift();
    if (fault !== undefined) {
      if (fault.afterCreate && url.pathname === `${base}.json` && request.method === 'POST') {
        await create(new URLSearchParams(await readBody(request)));
      }
      const code = fault.code ?? (fault.status === 429 ? 20429 : 20500);
      return reply(
        response,
        fault.status,
        twilioError(fault.status, code, FAULT_MESSAGES[code] ?? 'Internal Error'),
        fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) },
      );
    }
    if (url.pathname === `${base}.json` && request.method === 'POST') {
      const [status, body] = await create(new URLSearchParams(await readBody(request)));
      return reply(response, status, body);
    }
    if (url.pathname === `${base}.json` && request.method === 'GET') {
      return list(url.searchParams, response);
    }
    const single = url.pathname.match(new RegExp(`^${base}/(SM[0-9a-f]{32})\\.json$`));
    const found = single && messages.find((message) => message.sid === single[1]);
    if (found && request.method === 'GET') return reply(response, 200, view(found));
    return reply(response, 404, twilioError(404, 20404, 'The requested resource was not found'));
  }

  async function stalled(
    stall: { afterCreate: boolean },
    request: http.IncomingMessage,
    response: http.ServerResponse,
  ): Promise<void> {
    const form = new URLSearchParams(await readBody(request));
    const created = stall.afterCreate ? await create(form) : undefined;
    const outcome = await new Promise<'resumed' | 'gone'>((resolve) => {
      const resume = () => resolve('resumed');
      stalledNow.add(resume);
      response.once('close', () => {
        stalledNow.delete(resume);
        resolve('gone');
      });
    });
    if (outcome === 'gone') return;
    const [status, body] = created ?? (await create(form));
    reply(response, status, body);
  }

  /** Validates and stores a message like Twilio; the answer the API gives. */
  async function create(form: URLSearchParams): Promise<[status: number, body: unknown]> {
    const to = form.get('To') ?? '';
    const from = form.get('From');
    const service = form.get('MessagingServiceSid');
    const body = form.get('Body') ?? '';
    if (!to) return [400, twilioError(400, 21604, "A 'To' phone number is required.")];
    if (!isValidPhoneNumber(to)) {
      return [400, twilioError(400, 21211, `The 'To' number ${'*'.repeat(4)} is not a valid phone number.`)];
    }
    if (!from && !service) {
      return [400, twilioError(400, 21603, "A 'From' phone number is required.")];
    }
    if (!body) return [400, twilioError(400, 21602, 'Message body is required.')];
    if (body.length > 1600) {
      return [
        400,
        twilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.'),
      ];
    }
    const now = new Date().toUTCString();
    const created = Date.now();
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const message: PeerMessage = {
      sid,
      account_sid: options.accountSid,
      to,
      from: from ?? null,
      messaging_service_sid: service ?? null,
      body,
      status: 'queued',
      direction: 'outbound-api',
      num_segments: String(Math.ceil(body.length / 153) || 1),
      date_created: now,
      date_sent: null,
      date_updated: now,
      error_code: null,
      error_message: null,
      price: null,
      api_version: '2010-04-01',
      uri: `${base}/${sid}.json`,
    };
    // Persist before answering: once the SDK sees a sid, the message exists in the outside world.
    const file = path.join(options.dir, `${sid}.json`);
    await fs.writeFile(`${file}.tmp`, JSON.stringify(message, null, 2), { mode: 0o600 });
    await fs.rename(`${file}.tmp`, file);
    messages.push(message);
    sendAt.set(sid, holding ? undefined : created + QUEUED_FOR_MS);
    return [201, view(message)];
  }

  function list(query: URLSearchParams, response: http.ServerResponse): void {
    const to = query.get('To');
    const sentAfter = query.get('DateSent>');
    const pageSize = Number(query.get('PageSize') ?? 50);
    // Newest first, as Twilio lists them.
    const selected = messages
      .map(view)
      .reverse()
      .filter((message) => !to || message.to === to)
      .filter(
        (message) =>
          !sentAfter ||
          (message.date_sent !== null && new Date(message.date_sent) >= floorToSecond(sentAfter)),
      )
      .slice(0, pageSize);
    reply(response, 200, {
      messages: selected,
      page: 0,
      page_size: pageSize,
      start: 0,
      end: Math.max(selected.length - 1, 0),
      uri: `${base}.json`,
      first_page_uri: `${base}.json?PageSize=${pageSize}&Page=0`,
      next_page_uri: null,
      previous_page_uri: null,
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    messages: () => messages.map(view),
    failNext(fault, count = 1) {
      for (let i = 0; i < count; i++) faults.push(typeof fault === 'number' ? { status: fault } : fault);
    },
    holdQueued() {
      holding = true;
    },
    release() {
      holding = false;
      for (const [sid, at] of sendAt) if (at === undefined) sendAt.set(sid, Date.now());
    },
    stallNext(options = {}, count = 1) {
      for (let i = 0; i < count; i++) stalls.push({ afterCreate: options.afterCreate === true });
    },
    stalled: () => stalledNow.size,
    unstall() {
      for (const resume of [...stalledNow]) {
        stalledNow.delete(resume);
        resume();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// Twilio's date filters have second precision; RFC 2822 dates drop the milliseconds.
function floorToSecond(value: string): Date {
  const date = new Date(value);
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

async function loadMessages(dir: string): Promise<PeerMessage[]> {
  const names = (await fs.readdir(dir)).filter((name) => /^SM[0-9a-f]{32}\.json$/.test(name));
  const messages = await Promise.all(
    names.map(async (name) => JSON.parse(await fs.readFile(path.join(dir, name), 'utf8')) as PeerMessage),
  );
  // A message still queued when the peer stopped has been sent by the time it starts again.
  for (const message of messages) {
    if (message.date_sent === null)
      Object.assign(message, { status: 'sent', date_sent: message.date_created });
  }
  return messages.sort((a, b) => Date.parse(a.date_created) - Date.parse(b.date_created));
}

function twilioError(status: number, code: number, message: string) {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

const FAULT_MESSAGES: Record<number, string> = {
  20003: 'Authentication Error - invalid username',
  20429: 'Too Many Requests',
  21610: 'Attempt to send to unsubscribed recipient',
  21611: "This 'From' number has exceeded the maximum number of queued messages",
};

function reply(
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
