import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';
import type { TwilioSettings } from '../config';
import { ChannelError } from './channel-error';
import { fromTwilioStatus } from './provider-status';
import type { SentMessage, SmsMessage, SmsSender } from './sms-sender';

const TWILIO_API = 'https://api.twilio.com';

// Twilio error codes that describe the recipient, not the moment: retrying cannot help.
const PERMANENT_CODES = new Set([21211, 21214, 21217, 21219, 21408, 21610, 21612, 21614, 21635]);

/** The SDK's own HTTP client, with requests redirected to another base URL (the local Twilio peer). */
class RedirectingRequestClient extends twilio.RequestClient {
  constructor(private readonly baseUrl: string) {
    super({ autoRetry: false, timeout: 15_000 });
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const uri = opts.uri.startsWith(TWILIO_API) ? this.baseUrl + opts.uri.slice(TWILIO_API.length) : opts.uri;
    return super.request<TData>({ ...opts, uri });
  }
}

export function createTwilioSmsSender(settings: TwilioSettings): SmsSender {
  const client = twilio(settings.accountSid, settings.authToken, {
    // Retries belong to the Temporal activity, which knows whether the message already went out.
    autoRetry: false,
    httpClient: settings.apiBaseUrl
      ? new RedirectingRequestClient(settings.apiBaseUrl.replace(/\/$/, ''))
      : undefined,
  });
  const sender = settings.messagingServiceSid
    ? { messagingServiceSid: settings.messagingServiceSid }
    : { from: settings.fromNumber! };

  return {
    async send(message: SmsMessage): Promise<SentMessage> {
      try {
        const created = await client.messages.create({ ...sender, to: message.to, body: message.body });
        return { providerMessageId: created.sid, status: fromTwilioStatus(created.status) };
      } catch (error) {
        throw toChannelError(error);
      }
    },

    async findSent(message: SmsMessage, since: Date): Promise<SentMessage | undefined> {
      try {
        const candidates = await client.messages.list({ to: message.to, dateSentAfter: since, limit: 50 });
        const match = candidates.find((candidate) => candidate.body === message.body);
        return match && { providerMessageId: match.sid, status: fromTwilioStatus(match.status) };
      } catch (error) {
        throw toChannelError(error);
      }
    },
  };
}

function toChannelError(error: unknown): ChannelError {
  if (error instanceof twilio.RestException) {
    const permanent = (error.code !== undefined && PERMANENT_CODES.has(error.code)) || error.status === 400;
    return new ChannelError(
      `Twilio answered ${error.status} (code ${error.code ?? 'none'})`,
      `twilio-${error.code ?? error.status}`,
      permanent,
      { cause: error },
    );
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown';
  return new ChannelError(`Twilio request failed: ${code}`, `twilio-network-${code}`, false, {
    cause: error,
  });
}
