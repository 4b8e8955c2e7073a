// The secure pickup page at the link every message carries, /m/<token>: public (no API key; rate-limited
// per address like every request without one), HTML, never cached, never framed, no third-party request.
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { pageTexts } from '../../locales';
import { answerPickup, openPickup, type PickupPage } from '../../usecases/pickup';
import { pickupStatus, renderPickupPage } from '../pickup-page';

const FORM_LIMIT_BYTES = 1024;

export const pickupRoutes: FastifyPluginAsyncZod = (app) => {
  const { deps } = app;

  // Only this plugin's routes take a form; the answer is one short field.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: FORM_LIMIT_BYTES },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  function send(reply: FastifyReply, page: PickupPage | { kind: 'failed' }) {
    const { t, language } = pageTexts('pages', { language: 'language' in page ? page.language : 'en' });
    const { html, csp } = renderPickupPage(page, t, language);
    return reply
      .code(pickupStatus(page))
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', csp)
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff')
      .header('x-frame-options', 'DENY')
      .header('x-robots-tag', 'noindex, nofollow')
      .send(html);
  }

  async function answer(reply: FastifyReply, requestId: string, work: () => Promise<PickupPage>) {
    try {
      return await send(reply, await work());
    } catch (error) {
      // The kind of error only: a message may quote a value.
      app.log.error({ requestId, err: { type: (error as Error).name } }, 'pickup page failed');
      return send(reply, { kind: 'failed' });
    }
  }

  const token = (params: unknown) => String((params as { token?: string }).token ?? '');

  app.get('/m/:token', { schema: { hide: true } }, (request, reply) =>
    answer(reply, request.id, () => openPickup(deps, token(request.params))),
  );

  app.post('/m/:token', { schema: { hide: true } }, (request, reply) => {
    const body = request.body as { dateOfBirth?: unknown } | undefined;
    const given = typeof body?.dateOfBirth === 'string' ? body.dateOfBirth : '';
    return answer(reply, request.id, () => answerPickup(deps, token(request.params), given));
  });
  return Promise.resolve();
};
