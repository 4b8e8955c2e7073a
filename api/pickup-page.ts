// The pickup page's HTML: mobile first, one inline style sheet allowed by its hash (no third-party
// request of any kind), labelled controls, visible focus, text contrast of at least 4.5:1, and every
// interpolated value escaped. Titles carry nothing about the patient or the message.
import { createHash } from 'node:crypto';
import type { TFunction } from 'i18next';
import type { PickupClinic, PickupPage } from '../usecases/pickup';
import { textDirection } from '../locales/languages';

const DEFAULT_ACCENT = '#1d4ed8';

/** Where the translated texts put the clinic's name and phone (replaced after escaping). */
const markers = { clinic: '\uE000clinic\uE000', phone: '\uE000phone\uE000' };

/** Templates are grouped by the first word of their name: refill-soon and refill-today are about a refill. */
const TOPICS = [
  'appointment',
  'refill',
  'renew',
  'screening',
  'reengage',
  'enrollment',
  'coverage',
  'medicaid',
  'reminder',
];
/** Details with a translated label; others are shown under their own key ("roomNumber" as "Room number"). */
const DETAIL_LABELS = [
  'medication',
  'test',
  'location',
  'place',
  'time',
  'date',
  'provider',
  'instructions',
  'pharmacy',
  'reason',
];

const STYLE = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:1.0625rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#f5f5f4}
main{max-width:34rem;margin:0 auto;padding:1.25rem 1rem 3rem;background:#fff;min-height:100vh}
header{border-top:.375rem solid var(--accent);padding-top:.75rem}
h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.125rem;margin:1.5rem 0 .25rem}
p{margin:.5rem 0}
label{display:block;font-weight:600;margin-top:1rem}
.hint{color:#44403c;font-size:.9375rem;margin:.25rem 0 .5rem}
input{font:inherit;width:100%;max-width:14rem;padding:.625rem .75rem;border:2px solid #57534e;border-radius:.375rem;background:#fff;color:#1a1a1a}
input[aria-invalid=true]{border-color:#b91c1c}
button{font:inherit;font-weight:600;margin-top:1.25rem;padding:.75rem 1.25rem;min-height:3rem;border:0;border-radius:.375rem;background:var(--accent);color:#fff;cursor:pointer}
a{color:var(--accent)}
:focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}
.problem{border-left:.25rem solid #b91c1c;padding:.5rem .75rem;background:#fef2f2;color:#7f1d1d}
dl{margin:.5rem 0}
dt{font-weight:600;margin-top:.5rem}
dd{margin:0}
@media (min-width:40rem){main{margin-top:2rem;min-height:auto;border-radius:.5rem;padding:2rem}}
`;

/** The Content-Security-Policy a page is served with: its own style sheet (by hash) and form, nothing else. */
function contentSecurityPolicy(style: string): string {
  return [
    "default-src 'none'",
    `style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`,
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => ESCAPES[character]!);
}

/** The clinic's colour when white text on it is readable (contrast ≥ 4.5:1), otherwise a dark blue. */
export function accentColour(brand: string | undefined): string {
  if (!brand || !/^#[0-9a-fA-F]{6}$/.test(brand)) return DEFAULT_ACCENT;
  const channel = (offset: number) => {
    const value = parseInt(brand.slice(offset, offset + 2), 16) / 255;
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return 1.05 / (luminance + 0.05) >= 4.5 ? brand : DEFAULT_ACCENT;
}

/** The HTTP status each page is served with. */
export function pickupStatus(page: PickupPage | { kind: 'failed' }): number {
  switch (page.kind) {
    case 'unknown':
      return 404;
    case 'expired':
      return 410;
    case 'locked':
      return 423;
    case 'failed':
      return 500;
    default:
      return 200;
  }
}

/**
 * The page and the Content-Security-Policy to serve it with. `t` is the translator of the page's
 * language; `language` its tag for <html lang>.
 */
export function renderPickupPage(
  page: PickupPage | { kind: 'failed' },
  t: TFunction,
  language: string,
): { html: string; csp: string } {
  const clinic = 'clinic' in page ? page.clinic : undefined;
  // In the style sheet, not a style attribute: the policy allows this one sheet and no inline attribute.
  const style = `:root{--accent:${accentColour(clinic?.brandColor)}}${STYLE}`;
  const clinicName = clinic ? clinic.name : t('pages:theClinic');
  const body = (() => {
    switch (page.kind) {
      case 'unknown':
      case 'failed':
        return `<h1>${escapeHtml(t(`pages:${page.kind}.heading`))}</h1>
<p>${escapeHtml(t(`pages:${page.kind}.body`))}</p>`;
      case 'expired':
      case 'locked':
        return `<h1>${escapeHtml(t(`pages:${page.kind}.heading`))}</h1>
<p>${withPhone(t(`pages:${page.kind}.body`, markers), page.clinic, t)}</p>`;
      case 'ask':
        return askForm(page, t);
      case 'message':
        return message(page, t);
    }
  })();
  const html = `<!doctype html>
<html lang="${escapeHtml(language)}" dir="${textDirection(language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(t('pages:title'))}</title>
<style>${style}</style>
</head>
<body>
<main>
<header><p>${escapeHtml(t('pages:heading', { clinic: clinicName }))}</p></header>
${body}
</main>
</body>
</html>
`;
  return { html, csp: contentSecurityPolicy(style) };
}

/**
 * Translated text with the clinic's name and a tel: link in place of the markers, everything else
 * escaped (the translation is text, not HTML).
 */
function withPhone(text: unknown, clinic: PickupClinic, t: TFunction): string {
  const phone = clinic.phone
    ? `<a href="tel:${escapeHtml(clinic.phone.e164)}">${escapeHtml(clinic.phone.display)}</a>`
    : escapeHtml(t('pages:theClinic'));
  return String(text)
    .split(/(\uE000(?:clinic|phone)\uE000)/)
    .map((part) =>
      part === '\uE000clinic\uE000'
        ? escapeHtml(clinic.name)
        : part === '\uE000phone\uE000'
          ? phone
          : escapeHtml(part),
    )
    .join('');
}

function askForm(page: Extract<PickupPage, { kind: 'ask' }>, t: TFunction): string {
  const problem =
    page.problem?.kind === 'wrong'
      ? t('pages:ask.wrong', { count: page.problem.attemptsLeft })
      : page.problem?.kind === 'invalid'
        ? t('pages:ask.invalid')
        : undefined;
  const described = problem ? 'dob-hint dob-problem' : 'dob-hint';
  return `<h1>${escapeHtml(t('pages:ask.intro'))}</h1>
${problem ? `<p class="problem" id="dob-problem" role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" autocomplete="off" novalidate>
<label for="dob">${escapeHtml(t('pages:ask.label'))}</label>
<p class="hint" id="dob-hint">${escapeHtml(t('pages:ask.hint'))}</p>
<input id="dob" name="dateOfBirth" type="date" required autocomplete="bday" aria-describedby="${described}"${problem ? ' aria-invalid="true" autofocus' : ''}>
<div><button type="submit">${escapeHtml(t('pages:ask.submit'))}</button></div>
</form>`;
}

function message(page: Extract<PickupPage, { kind: 'message' }>, t: TFunction): string {
  const family = page.template.split('-')[0]!;
  const topic = TOPICS.includes(family) ? family : 'reminder';
  const details = Object.entries(page.details);
  const label = (key: string) =>
    DETAIL_LABELS.includes(key)
      ? t(`pages:detailLabels.${key}`)
      : key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (first) => first.toUpperCase());
  return `<h1>${escapeHtml(page.subject ?? t(`pages:about.${topic}`))}</h1>
<h2>${escapeHtml(t('pages:message.about'))}</h2>
<p>${escapeHtml(t(`pages:about.${topic}`))}</p>
${
  details.length > 0
    ? `<h2>${escapeHtml(t('pages:message.details'))}</h2>
<dl>
${details.map(([key, value]) => `<dt>${escapeHtml(label(key))}</dt><dd>${escapeHtml(value)}</dd>`).join('\n')}
</dl>`
    : ''
}
<h2>${escapeHtml(t('pages:message.todo'))}</h2>
<p>${escapeHtml(t(`pages:todo.${topic}`))}</p>
<h2>${escapeHtml(t('pages:message.contact'))}</h2>
<p>${withPhone(t('pages:message.contactBody', markers), page.clinic, t)}</p>
${
  page.category === 'marketing'
    ? `<h2>${escapeHtml(t('pages:message.stop'))}</h2>
<p>${withPhone(t('pages:message.stopBody', markers), page.clinic, t)}</p>`
    : ''
}`;
}
