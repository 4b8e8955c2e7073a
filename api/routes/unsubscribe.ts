// RFC 8058 one-click unsubscribe for marketing email, public (the token is the credential):
// GET /u/:token shows a confirmation page with a button (a GET never unsubscribes: mail scanners and link
// previews fetch links), POST /u/:token (the mail client's `List-Unsubscribe=One-Click`, or the page's
// form) unsubscribes at once and confirms, in the language the email was written in.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageTexts } from '../../locales';
import { unsubscribeByLink, viewUnsubscribeLink, type UnsubscribeView } from '../../usecases/unsubscribe';
import { renderUnsubscribePage } from '../pages/unsubscribe-page';

const params = z.object({ token: z.string().max(128) });

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/** The language of a link that names none (an unknown token): the browser's first choice. */
const browserLanguage = (request: FastifyRequest) =>
  String(request.headers['accept-language'] ?? 'en')
    .split(',')[0]!
    .split(';')[0]!
    .trim() || 'en';

async function sendPage(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  view: UnsubscribeView | undefined,
) {
  const { t, language } = pageTexts('common', {
    language: view ? view.language : browserLanguage(request),
  });
  const html = renderUnsubscribePage({
    t,
    language,
    state: view?.state ?? 'invalid',
    clinic: view?.clinic,
    action: `/u/${encodeURIComponent(token)}`,
  });
  return reply
    .code(view ? (view.state === 'expired' ? 410 : 200) : 404)
    .headers(PAGE_HEADERS)
    .send(html);
}

export const unsubscribeRoutes: FastifyPluginAsyncZod = (app) => {
  // RFC 8058: the one-click POST is form-encoded (or multipart); only the URL matters, so the body is
  // read, not trusted: `List-Unsubscribe=One-Click` tells the mail client's request from the page's.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 4096 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  app.addContentTypeParser(
    'multipart/form-data',
    { parseAs: 'string', bodyLimit: 4096 },
    (_request, body, done) =>
      done(null, {
        'List-Unsubscribe': /name="List-Unsubscribe"\s+One-Click/i.test(String(body))
          ? 'One-Click'
          : undefined,
      }),
  );

  app.get('/u/:token', { schema: { hide: true, params } }, async (request, reply) =>
    sendPage(request, reply, request.params.token, await viewUnsubscribeLink(app.deps, request.params.token)),
  );

  app.post('/u/:token', { schema: { hide: true, params } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const method = body['List-Unsubscribe'] === 'One-Click' ? 'list-unsubscribe-post' : 'unsubscribe-page';
    const view = await unsubscribeByLink(app.deps, request.params.token, method);
    return sendPage(request, reply, request.params.token, view);
  });
  return Promise.resolve();
};
