// The HTML part of an email and the email settings, without services.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderEmailHtml, safeColor, textColorOn } from '../../channels/email-html';
import { loadConfig } from '../../config';
import { diagnosticCodes } from '../../usecases/email-bounces';

const base = {
  subject: 'A reminder from <Clinic>',
  text: 'Hello,\n\n<Clinic> & "Co" has a reminder.\n\nView it securely: https://carebell.test/m/abc',
  link: 'https://carebell.test/m/abc',
  clinicName: '<Clinic> & "Co"',
};

describe('email HTML', () => {
  it('escapes every value and turns the call to action into a button', () => {
    const html = renderEmailHtml({ ...base, language: 'en', brandColor: '#ffcc00' });
    assert.ok(!html.includes('<Clinic>'));
    assert.match(html, /&lt;Clinic&gt; &amp; &quot;Co&quot;/);
    assert.match(html, /<html lang="en" dir="ltr">/);
    assert.match(html, /<a href="https:\/\/carebell\.test\/m\/abc"[^>]*>View it securely<\/a>/);
    assert.match(html, /background:#ffcc00;color:#111111/, 'dark text on a light colour');
  });

  it('is right-to-left for Arabic, Hebrew, Persian and Urdu', () => {
    for (const language of ['ar', 'he', 'fa', 'ur-PK']) {
      const html = renderEmailHtml({ ...base, language });
      assert.match(html, new RegExp(`<html lang="${language}" dir="rtl">`));
      assert.match(html, /align="right"/);
    }
  });

  it('refuses a colour that is not #RRGGBB (it goes into a style attribute)', () => {
    assert.equal(safeColor('red;background:url(x)'), '#1f4e79');
    assert.equal(safeColor('#0A7D4F'), '#0a7d4f');
    assert.equal(textColorOn('#1f4e79'), '#ffffff');
  });

  it('keeps only the reply codes of a bounce diagnostic (it may quote the address)', () => {
    assert.equal(diagnosticCodes('smtp; 550 5.1.1 <pat@example.org>: user unknown'), '550 5.1.1');
    assert.equal(diagnosticCodes('mailbox of pat@example.org is full'), undefined);
  });
});

describe('email settings', () => {
  it('wants DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_PATH together, and a readable RSA key', () => {
    assert.throws(() => loadConfig({ DKIM_DOMAIN: 'clinic.example' }), /go together/);
    assert.throws(
      () =>
        loadConfig({
          DKIM_DOMAIN: 'clinic.example',
          DKIM_SELECTOR: 's1',
          DKIM_PRIVATE_KEY_PATH: '/nonexistent',
        }),
      /DKIM_PRIVATE_KEY_PATH: cannot be read/,
    );
  });

  it('wants a bounce webhook secret of 32 characters or more', () => {
    assert.throws(() => loadConfig({ EMAIL_BOUNCE_WEBHOOK_SECRET: 'short' }), /EMAIL_BOUNCE_WEBHOOK_SECRET/);
    const secret = 'x'.repeat(32);
    assert.equal(loadConfig({ EMAIL_BOUNCE_WEBHOOK_SECRET: secret }).api.bounceWebhookSecret, secret);
  });
});
