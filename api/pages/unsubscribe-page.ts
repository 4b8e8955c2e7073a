// The unsubscribe link's page: small, accessible, no third-party requests, in the patient's language and
// direction. Every value is escaped. The confirmation is a form (POST), so a mail scanner that fetches the
// link never unsubscribes anyone.
import type { TFunction } from 'i18next';
import { escapeHtml, safeColor, textColorOn } from '../../channels/email-html';
import { textDirection } from '../../locales/languages';
import type { UnsubscribeView } from '../../usecases/unsubscribe';

export type UnsubscribePageState = UnsubscribeView['state'] | 'invalid';

export function renderUnsubscribePage(input: {
  t: TFunction;
  language: string;
  state: UnsubscribePageState;
  clinic?: UnsubscribeView['clinic'];
  /** The form's target (the same /u/<token>). */
  action?: string;
}): string {
  const { t, clinic } = input;
  const color = safeColor(clinic?.brandColor);
  const onColor = textColorOn(color);
  const values = { clinic: clinic?.name ?? '' };
  const call = clinic?.phone
    ? `<p>${escapeHtml(t('common:unsubscribe.call', { phone: clinic.phone }))}</p>`
    : '';
  let main: string;
  if (input.state === 'active' && input.action) {
    main = `<p>${escapeHtml(t('common:unsubscribe.question', values))}</p>
<p>${escapeHtml(t('common:unsubscribe.careNote'))}</p>
<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="confirm" value="unsubscribe">
<button type="submit">${escapeHtml(t('common:unsubscribe.button'))}</button>
</form>`;
  } else if (input.state === 'done') {
    main = `<p role="status">${escapeHtml(t('common:unsubscribe.done', values))}</p>
<p>${escapeHtml(t('common:unsubscribe.careNote'))}</p>`;
  } else if (input.state === 'expired') {
    main = `<p>${escapeHtml(t('common:unsubscribe.expired', values))}</p>${call}`;
  } else {
    main = `<p>${escapeHtml(t('common:unsubscribe.invalid'))}</p>`;
  }
  const title = escapeHtml(t('common:unsubscribe.title'));
  return `<!DOCTYPE html>
<html lang="${escapeHtml(input.language)}" dir="${textDirection(input.language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<style>
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:1.125rem;line-height:1.5;color:#111;background:#f4f4f4}
header{background:${color};color:${onColor};padding:1rem 1.25rem;font-weight:bold;font-size:1.25rem}
main{max-width:36rem;margin:0 auto;padding:1.25rem;background:#fff}
h1{font-size:1.5rem;margin:0 0 1rem}
button{font:inherit;font-weight:bold;padding:.75rem 1.5rem;min-height:44px;border:0;border-radius:4px;background:${color};color:${onColor};cursor:pointer}
button:focus-visible{outline:3px solid #111;outline-offset:3px}
</style>
</head>
<body>
${clinic ? `<header>${escapeHtml(clinic.name)}</header>` : ''}
<main>
<h1>${title}</h1>
${main}
</main>
</body>
</html>
`;
}
