// A local stand-in for Twilio's Messages API, good enough for the real `twilio` SDK: it checks the
// account's credentials, validates like Twilio (same error codes), records every message under its
// directory (the outside world's copy, kept apart from the engine's state) and can be told to fail the
// way Twilio does. Like Twilio, a new message is `queued` with no `date_sent` until it is sent a moment
// later (or until released, when held), and a list filtered by DateSent does not see it.
// Like Twilio it reports each message's progress (queued, sent, then delivered or undelivered with an
// ErrorCode) to the StatusCallback URL given at send, and can play a patient texting the clinic's number
// (`receive`, or POST /_peer/inbound): both requests are signed with X-Twilio-Signature as Twilio signs
// them, and a TwiML <Message> in the answer to an inbound text is recorded as a message to the patient.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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
  /**
   * The next `count` messages (to `to`, or to anyone) end `undelivered` (or `failed`) with this error code
   * (30003 unreachable by default; 21610 is a carrier-level STOP) instead of `delivered`.
   */
  undeliverNext(
    fate?: { to?: string; status?: 'undelivered' | 'failed'; errorCode?: number },
    count?: number,
  ): void;
  /** How webhooks (status callbacks, inbound texts) reach carebell: HTTP by default; tests may inject. */
  setWebhookTransport(transport: WebhookTransport): void;
  /** A patient texts `to` (a clinic's number): POSTed signed to `url`; answers in TwiML are sent back. */
  receive(text: { from: string; to: string; body: string; url: string }): Promise<InboundResult>;
  /** Status callbacks posted so far, in order (the URL's path, the message, the status). */
  callbacks(): { sid: string; status: string; errorCode?: string; httpStatus: number }[];
  /** Resolves once no status callback is waiting to be posted. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export type WebhookTransport = (request: {
  url: string;
  headers: Record<string, string>;
  body: string;
}) => Promise<{ status: number; body: string }>;

export interface InboundResult {
  sid: string;
  httpStatus: number;
  /** What carebell answered in TwiML, as messages sent to the patient. */
  replies: PeerMessage[];
}

/** Twilio's request signature: base64 HMAC-SHA1 of the URL and each parameter's name and value, sorted. */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((text, key) => text + key + params[key], url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

const httpTransport: WebhookTransport = async ({ url, headers, body }) => {
  const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.text() };
};

// How long a message stays queued before Twilio sends it.
const QUEUED_FOR_MS = 300;
// And how long after it is sent the carrier reports it delivered (or not).
const DELIVERED_AFTER_MS = 150;

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
  const fates: { to?: string; status: 'undelivered' | 'failed'; errorCode: number }[] = [];
  let transport: WebhookTransport = httpTransport;
  const posted: { sid: string; status: string; errorCode?: string; httpStatus: number }[] = [];
  const lifecycles = new Set<Promise<void>>();
  let closed = false;

  async function postSigned(url: string, params: Record<string, string>) {
    const body = new URLSearchParams(params).toString();
    return transport({
      url,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(options.authToken, url, params),
        'user-agent': 'TwilioProxy/1.1',
      },
      body,
    });
  }

  /** Reports a message's progress to its StatusCallback, in order, as Twilio does. */
  async function lifecycle(message: PeerMessage, callbackUrl: string | null) {
    const report = async (status: string, errorCode?: number) => {
      if (!callbackUrl || closed) return;
      const params: Record<string, string> = {
        AccountSid: options.accountSid,
        ApiVersion: '2010-04-01',
        From: message.from ?? '',
        MessageSid: message.sid,
        MessageStatus: status,
        SmsSid: message.sid,
        SmsStatus: status,
        To: message.to,
        ...(errorCode === undefined ? {} : { ErrorCode: String(errorCode) }),
      };
      const answer = await postSigned(callbackUrl, params).catch(() => ({ status: 0, body: '' }));
      posted.push({
        sid: message.sid,
        status,
        errorCode: errorCode === undefined ? undefined : String(errorCode),
        httpStatus: answer.status,
      });
    };
    await report('queued');
    while (!closed && view(message).status === 'queued') {
      const at = sendAt.get(message.sid);
      await pause(at === undefined ? 50 : Math.max(at - Date.now(), 1));
    }
    if (closed) return;
    await report('sent');
    await pause(DELIVERED_AFTER_MS);
    const index = fates.findIndex((fate) => !fate.to || fate.to === message.to);
    const fate = index >= 0 ? fates.splice(index, 1)[0] : undefined;
    message.status = fate?.status ?? 'delivered';
    message.error_code = fate?.errorCode ?? null;
    message.date_updated = new Date().toUTCString();
    if (closed) return;
    await persist(message);
    await report(message.status, fate?.errorCode);
  }

  async function persist(message: PeerMessage) {
    const file = path.join(options.dir, `${message.sid}.json`);
    await fs.writeFile(`${file}.tmp`, JSON.stringify(message, null, 2), { mode: 0o600 });
    await fs.rename(`${file}.tmp`, file);
  }

  async function receive(text: {
    from: string;
    to: string;
    body: string;
    url: string;
  }): Promise<InboundResult> {
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const params: Record<string, string> = {
      AccountSid: options.accountSid,
      ApiVersion: '2010-04-01',
      Body: text.body,
      From: text.from,
      MessageSid: sid,
      NumMedia: '0',
      NumSegments: '1',
      SmsMessageSid: sid,
      SmsSid: sid,
      SmsStatus: 'received',
      To: text.to,
    };
    const answer = await postSigned(text.url, params);
    const replies: PeerMessage[] = [];
    if (answer.status === 200) {
      for (const match of answer.body.matchAll(/<Message[^>]*>([\s\S]*?)<\/Message>/g)) {
        const [, created] = await create(
          new URLSearchParams({ To: text.from, From: text.to, Body: unescapeXml(match[1]!) }),
          'reply',
        );
        replies.push(created as PeerMessage);
      }
    }
    return { sid, httpStatus: answer.status, replies };
  }
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
    if (url.pathname === '/_peer/inbound' && request.method === 'POST') {
      // Play a patient texting: From, To (the clinic's number), Body, Url (carebell's inbound webhook).
      const form = new URLSearchParams(await readBody(request));
      const result = await receive({
        from: form.get('From') ?? '',
        to: form.get('To') ?? '',
        body: form.get('Body') ?? '',
        url: form.get('Url') ?? '',
      });
      return reply(response, 200, result);
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
  async function create(
    form: URLSearchParams,
    direction: 'outbound-api' | 'reply' = 'outbound-api',
  ): Promise<[status: number, body: unknown]> {
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
      direction,
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
    await persist(message);
    messages.push(message);
    sendAt.set(sid, holding ? undefined : created + QUEUED_FOR_MS);
    // After the answer, as Twilio: the first callback never comes before the API's answer.
    // A peer stopped mid-way (its directory removed) just stops reporting.
    const running = pause(0)
      .then(() => lifecycle(message, form.get('StatusCallback')))
      .catch(() => undefined);
    lifecycles.add(running);
    void running.finally(() => lifecycles.delete(running));
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
    undeliverNext(fate = {}, count = 1) {
      for (let i = 0; i < count; i++)
        fates.push({ to: fate.to, status: fate.status ?? 'undelivered', errorCode: fate.errorCode ?? 30003 });
    },
    setWebhookTransport(next) {
      transport = next;
    },
    receive,
    callbacks: () => [...posted],
    async settled() {
      while (lifecycles.size > 0) await Promise.all([...lifecycles]);
    },
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
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

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
