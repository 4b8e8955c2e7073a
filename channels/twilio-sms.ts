import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';
import type { TwilioSettings } from '../config';
import { ChannelError, type ChannelFailure } from './channel-error';
import { fromTwilioStatus } from './provider-status';
import type { SentMessage, SmsMessage, SmsSender } from './sms-sender';

const TWILIO_API = 'https://api.twilio.com';

// Twilio error codes (https://www.twilio.com/docs/api/errors) by what they say about a retry.
const RECIPIENT_CODES = new Set([
  21211, 21214, 21217, 21219, 21408, 21612, 21614, 21635, 30003, 30005, 30006,
]);
const CONFIGURATION_CODES = new Set([20003, 20404, 21212, 21606, 21659, 21703, 21704]);
// 21611: the sender's queue is full; 20429: too many requests. Both pass.
const TRANSIENT_CODES = new Set([21611, 20429, 30001]);
const OPTED_OUT = 21610;

export function classifyTwilioError(status: number, code: number | undefined): ChannelFailure {
  if (code === OPTED_OUT) return 'opted-out';
  if (code !== undefined && TRANSIENT_CODES.has(code)) return 'transient';
  if (code !== undefined && RECIPIENT_CODES.has(code)) return 'recipient';
  if (code !== undefined && CONFIGURATION_CODES.has(code)) return 'configuration';
  if (status === 401 || status === 403 || status === 404) return 'configuration';
  if (status === 429 || status >= 500) return 'transient';
  // Any other 400 is about this request's content or recipient: sending it again changes nothing.
  return status >= 400 && status < 500 ? 'recipient' : 'transient';
}

/**
 * The SDK's own HTTP client, optionally redirected to another base URL (the local Twilio peer). An error
 * response is turned into a ChannelError here, where its Retry-After header is still in hand (the SDK's
 * RestException drops headers).
 */
class ClassifyingRequestClient extends twilio.RequestClient {
  constructor(private readonly baseUrl: string | undefined) {
    super({ autoRetry: false, timeout: 15_000 });
  }

  override async request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const uri =
      this.baseUrl && opts.uri.startsWith(TWILIO_API)
        ? this.baseUrl + opts.uri.slice(TWILIO_API.length)
        : opts.uri;
    const response = await super.request<TData>({ ...opts, uri });
    if (response.statusCode < 400) return response;
    const body = parseBody(response.body);
    const kind = classifyTwilioError(response.statusCode, body?.code);
    const code = `twilio-${body?.code ?? response.statusCode}`;
    throw new ChannelError(`Twilio answered ${response.statusCode} (${code})`, code, kind, {
      retryAfterMs: retryAfterMs(response.headers as Record<string, unknown> | undefined),
    });
  }
}

function parseBody(body: unknown): { code?: number } | undefined {
  try {
    return (typeof body === 'string' ? JSON.parse(body) : body) as { code?: number } | undefined;
  } catch {
    return undefined;
  }
}

function retryAfterMs(headers: Record<string, unknown> | undefined): number | undefined {
  const value = headers?.['retry-after'] ?? headers?.['Retry-After'];
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(String(value));
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export function createTwilioSmsSender(settings: TwilioSettings): SmsSender {
  const client = twilio(settings.accountSid, settings.authToken, {
    // Retries belong to the Temporal activity, which knows whether the message already went out.
    autoRetry: false,
    httpClient: new ClassifyingRequestClient(settings.apiBaseUrl?.replace(/\/$/, '')),
  });
  const sender = (from: string | undefined) =>
    from?.startsWith('MG')
      ? { messagingServiceSid: from }
      : from
        ? { from }
        : settings.messagingServiceSid
          ? { messagingServiceSid: settings.messagingServiceSid }
          : { from: settings.fromNumber! };

  return {
    async send(message: SmsMessage): Promise<SentMessage> {
      const created = await client.messages
        .create({
          ...sender(message.from),
          to: message.to,
          body: message.body,
          ...(message.statusCallback ? { statusCallback: message.statusCallback } : {}),
        })
        .catch((error: unknown) => {
          throw toChannelError(error);
        });
      // A message can fail at creation (e.g. an unroutable number): that is a failure, never "sent".
      if (fromTwilioStatus(created.status) === 'failed') {
        const code = `twilio-${created.errorCode ?? created.status}`;
        throw new ChannelError(`Twilio reports the message ${created.status}`, code, 'recipient');
      }
      return { providerMessageId: created.sid, status: fromTwilioStatus(created.status) };
    },

    async findSent({ to, marker, since }): Promise<SentMessage | undefined> {
      // Not filtered by DateSent: a message still queued has none. Newest first; the marker is unique.
      const candidates = await client.messages.list({ to, limit: 100 }).catch((error: unknown) => {
        throw toChannelError(error);
      });
      // Twilio's dates have whole seconds.
      const from = Math.floor(since.getTime() / 1000) * 1000;
      const match = candidates.find(
        (candidate) =>
          candidate.body.includes(marker) && (candidate.dateCreated ?? new Date(0)).getTime() >= from,
      );
      if (!match) return undefined;
      const status = fromTwilioStatus(match.status);
      if (status === 'failed') {
        throw new ChannelError(
          `Twilio reports the earlier message ${match.status}`,
          `twilio-${match.errorCode ?? match.status}`,
          'recipient',
        );
      }
      return { providerMessageId: match.sid, status };
    },
  };
}

function toChannelError(error: unknown): ChannelError {
  if (error instanceof ChannelError) return error;
  if (error instanceof twilio.RestException) {
    const kind = classifyTwilioError(error.status, error.code);
    return new ChannelError(`Twilio answered ${error.status}`, `twilio-${error.code ?? error.status}`, kind, {
      cause: error,
    });
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown';
  return new ChannelError(`Twilio request failed: ${code}`, `twilio-network-${code}`, 'transient', {
    cause: error,
  });
}
