// The HTML alternative of an email, built from the very text of its plain part (the same words, so the
// same minimum necessary), in the layout mail clients render alike: tables, inline styles, no images,
// no external resources. Every value is escaped; the pickup link becomes a button in the clinic's colour.
// Pure and vendor-neutral: the send path renders, a channel only carries.
import { textDirection } from '../locales/languages';

export interface EmailHtmlInput {
  /** BCP 47 language of the text: `lang`, and `dir="rtl"` for right-to-left scripts. */
  language: string;
  subject: string;
  /** The plain part's body: paragraphs separated by blank lines. */
  text: string;
  /** The call to action: the paragraph that ends with it ("View it securely: <link>") becomes a button. */
  link: string;
  /** Marketing mail's footer (why you receive it, how to stop, the postal address), in smaller print. */
  footer?: string;
  /** Other URLs in the text or footer to make clickable (the unsubscribe link). */
  otherLinks?: string[];
  clinicName: string;
  /** #RRGGBB; anything else falls back to the default. */
  brandColor?: string | null;
}

const DEFAULT_COLOR = '#1f4e79';
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A clinic's colour if it is a plain #RRGGBB (it goes into a style attribute), else the default. */
export function safeColor(color: string | null | undefined): string {
  return color && /^#[0-9a-f]{6}$/i.test(color) ? color.toLowerCase() : DEFAULT_COLOR;
}

/** Black or white, whichever reads better on `background` (WCAG relative luminance). */
export function textColorOn(background: string): '#ffffff' | '#111111' {
  const channel = (offset: number) => {
    const value = parseInt(background.slice(offset, offset + 2), 16) / 255;
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  // Contrast against white (1.05 / (L + 0.05)) beats contrast against near-black above about L = 0.18.
  return luminance > 0.18 ? '#111111' : '#ffffff';
}

const FONT = 'font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#111111';

export function renderEmailHtml(input: EmailHtmlInput): string {
  const rtl = textDirection(input.language) === 'rtl';
  const dir = rtl ? 'rtl' : 'ltr';
  const align = rtl ? 'right' : 'left';
  const color = safeColor(input.brandColor);
  const onColor = textColorOn(color);
  const links = [input.link, ...(input.otherLinks ?? [])];

  const body = paragraphs(input.text)
    .map((paragraph) => {
      const button = buttonParagraph(paragraph, input.link, color, onColor, align);
      return button ?? `<p style="margin:0 0 16px 0">${inline(paragraph, links, color)}</p>`;
    })
    .join('\n');
  const footer = input.footer
    ? paragraphs(input.footer)
        .map(
          (paragraph) =>
            `<p style="margin:0 0 8px 0;font-size:13px;color:#444444">${inline(paragraph, links, '#444444')}</p>`,
        )
        .join('\n')
    : '';

  return `<!DOCTYPE html>
<html lang="${escapeHtml(input.language)}" dir="${dir}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${escapeHtml(input.subject)}</title>
</head>
<body style="margin:0;padding:0;background:#f4f4f4">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" dir="${dir}" style="background:#f4f4f4">
<tr><td align="center" style="padding:16px 8px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" dir="${dir}" style="max-width:600px;background:#ffffff;border-collapse:collapse">
<tr><td align="${align}" style="background:${color};color:${onColor};padding:16px 24px;${FONT.replace('color:#111111', `color:${onColor}`)};font-size:20px;font-weight:bold">${escapeHtml(input.clinicName)}</td></tr>
<tr><td align="${align}" dir="${dir}" style="padding:24px;text-align:${align};${FONT}">
${body}
</td></tr>${
    footer
      ? `
<tr><td align="${align}" dir="${dir}" style="padding:16px 24px;border-top:1px solid #dddddd;text-align:${align};${FONT}">
${footer}
</td></tr>`
      : ''
  }
</table>
</td></tr>
</table>
</body>
</html>
`;
}

function paragraphs(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => paragraph.length > 0);
}

/** Escaped text with line breaks kept and the known links clickable (only those: never a guessed URL). */
function inline(paragraph: string, links: string[], linkColor: string): string {
  let html = escapeHtml(paragraph);
  for (const link of links) {
    const escaped = escapeHtml(link);
    html = html
      .split(escaped)
      .join(`<a href="${escaped}" style="color:${linkColor};text-decoration:underline">${escaped}</a>`);
  }
  return html.replace(/\n/g, '<br>');
}

/** "View it securely: <link>" as a bulletproof button (a table cell) labelled with the words before it. */
function buttonParagraph(
  paragraph: string,
  link: string,
  color: string,
  onColor: string,
  align: string,
): string | undefined {
  if (!paragraph.endsWith(link)) return undefined;
  const label = paragraph
    .slice(0, -link.length)
    .trim()
    .replace(/[:：]\s*$/, '')
    .trim();
  if (!label || label.includes('\n')) return undefined;
  const href = escapeHtml(link);
  return `<table role="presentation" cellpadding="0" cellspacing="0" border="0" align="${align}" style="margin:8px 0 8px 0">
<tr><td align="center" bgcolor="${color}" style="background:${color};border-radius:4px">
<a href="${href}" style="display:inline-block;padding:12px 24px;${FONT.replace('color:#111111', `color:${onColor}`)};font-weight:bold;text-decoration:none">${escapeHtml(label)}</a>
</td></tr>
</table>
<p style="margin:0 0 16px 0;clear:both;font-size:13px;color:#444444;word-break:break-all"><a href="${href}" style="color:#444444">${href}</a></p>`;
}
