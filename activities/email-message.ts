// What an email carries beyond its rendered words: the HTML alternative of the same text, the sender
// (marketing mail may leave from its own address), and for marketing mail what CAN-SPAM and the mailbox
// providers require: the clinic's postal address, a visible unsubscribe link and RFC 8058 one-click
// unsubscribe headers. Transactional mail carries none of these (it is not a list one leaves).
import type { TFunction } from 'i18next';
import { ChannelError } from '../channels/channel-error';
import { renderEmailHtml } from '../channels/email-html';
import type { EmailMessage } from '../channels/email-sender';
import type { Clinic } from '../db/schema';
import type { Category } from '../domain/messaging';
import type { FieldCipher } from '../security/field-cipher';
import { linkTokenHash, UNSUBSCRIBE_LINK_DAYS, unsubscribeToken } from '../security/unsubscribe-token';

export interface RenderedEmail {
  language: string;
  subject: string;
  text: string;
  /** The pickup link the text carries (it becomes the HTML part's button). */
  link: string;
}

export interface ComposedEmail {
  message: Omit<EmailMessage, 'to' | 'messageId'>;
  /** The unsubscribe link to store before the message leaves (marketing only). */
  unsubscribeLink?: { tokenHash: string; expiresAt: Date };
}

export function composeEmail(
  deps: { cipher: FieldCipher; publicUrl: string; t: TFunction; now: number },
  input: { clinic: Clinic; deliveryId: string; category: Category; rendered: RenderedEmail },
): ComposedEmail {
  const { clinic, rendered } = input;
  const clinicName = clinic.displayName ?? clinic.name;
  const html = {
    language: rendered.language,
    subject: rendered.subject,
    text: rendered.text,
    link: rendered.link,
    clinicName,
    brandColor: clinic.brandColor,
  };
  if (input.category !== 'marketing') {
    return {
      message: {
        from: clinic.emailSender ?? undefined,
        subject: rendered.subject,
        text: rendered.text,
        html: renderEmailHtml(html),
      },
    };
  }
  if (!clinic.postalAddress?.trim()) {
    // CAN-SPAM: no marketing email without the sender's postal address. Nothing is wrong with the patient:
    // the send path keeps the message due (or uses the next channel) until the clinic's record has one.
    throw new ChannelError(
      "marketing email needs the clinic's postal address",
      'email-no-postal-address',
      'configuration',
    );
  }
  const token = unsubscribeToken(deps.cipher, clinic.id, input.deliveryId);
  const unsubscribe = `${deps.publicUrl}/u/${token}`;
  const footer = deps.t('common:email.marketingFooter', {
    clinic: clinicName,
    unsubscribe,
    postalAddress: clinic.postalAddress.trim(),
  });
  return {
    message: {
      from: clinic.marketingEmailSender ?? clinic.emailSender ?? undefined,
      subject: rendered.subject,
      text: `${rendered.text.trimEnd()}\n\n--\n${footer}`,
      html: renderEmailHtml({ ...html, footer, otherLinks: [unsubscribe] }),
      // RFC 8058 one-click needs an https URI; over plain http the link is still offered, one-click not.
      headers: unsubscribe.startsWith('https:')
        ? { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }
        : { 'List-Unsubscribe': `<${unsubscribe}>` },
    },
    unsubscribeLink: {
      tokenHash: linkTokenHash(token),
      expiresAt: new Date(deps.now + UNSUBSCRIBE_LINK_DAYS * 24 * 3600 * 1000),
    },
  };
}
