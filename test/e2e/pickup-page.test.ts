// The pickup page in a real browser: headless Chromium (the OS package, driven by playwright-core with no
// browser download) opens the link the SMS peer received from the real send path, fails once with a wrong
// date of birth, then succeeds and shows the event's pickup-only details and the clinic's phone. The page
// is never cached, asks nothing of any other origin, and its title says nothing about the patient.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { tempDir } from '../support/harness';
import { CLINIC_PHONE_DISPLAY, startPickupWorld, type PickupWorld } from '../support/pickup';

/** The OS package's browser: CHROMIUM_PATH, or chromium / chromium-browser / google-chrome on PATH. */
function systemChromium(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      const candidate = path.join(dir, name);
      if (fs.existsSync(candidate)) return candidate;
    }
  }
  throw new Error(
    'no Chromium found: install the OS package (apt-get install chromium) or set CHROMIUM_PATH',
  );
}

describe('the pickup page in Chromium', () => {
  let world: PickupWorld;
  let browser: Browser;

  before(async () => {
    world = await startPickupWorld();
    browser = await chromium.launch({
      executablePath: systemChromium(),
      // Root in CI has no user namespace for Chromium's sandbox.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
  });
  after(async () => {
    await browser?.close();
    await world?.close();
  });

  it('fails once with a wrong date, then shows the message with its details and the clinic phone', async () => {
    const sent = await world.sendReminder({
      dateOfBirth: '1985-12-10',
      phone: '+14155550811',
      details: { location: 'Cardiology, 3rd floor, room 312', provider: 'Dr. Ana Rivera' },
    });
    assert.ok(sent.link.startsWith(`${world.origin}/m/`), 'the SMS links to the pickup page');
    assert.ok(!sent.sms.includes('Cardiology') && !sent.sms.includes(sent.deliveryId), 'no detail, no id');

    const screenshots = await tempDir('pickup-screenshots', { keep: true });
    console.log(`pickup page screenshots: ${screenshots}`);
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    const page = await context.newPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    // Chromium reports what the Content-Security-Policy blocked (a style the page needs, say) on the console.
    const blocked: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) blocked.push(message.text());
    });

    const opened = await page.goto(sent.link);
    assert.equal(opened?.status(), 200);
    assert.equal(opened?.headers()['cache-control'], 'no-store');
    assert.match(opened?.headers()['content-security-policy'] ?? '', /default-src 'none'/);
    await page.screenshot({ path: path.join(screenshots, '1-ask.png'), fullPage: true });
    const button = page.getByRole('button', { name: 'Show my message' });
    const colours = await button.evaluate((element) => {
      // Runs in the page; the project's types have no DOM.
      type Styles = { backgroundColor: string; color: string };
      const { getComputedStyle } = globalThis as unknown as { getComputedStyle: (of: unknown) => Styles };
      const style = getComputedStyle(element);
      return [style.backgroundColor, style.color];
    });
    assert.deepEqual(colours, ['rgb(29, 78, 216)', 'rgb(255, 255, 255)'], 'white on dark blue, 6.7:1');
    const label = page.getByLabel('Date of birth');
    await label.fill('1985-12-11');
    await page.keyboard.press('Enter');
    await page.waitForLoadState();
    assert.match(await page.locator('[role=alert]').innerText(), /does not match our records.*4 more tries/s);
    await page.screenshot({ path: path.join(screenshots, '2-wrong-date.png'), fullPage: true });

    await page.getByLabel('Date of birth').fill('1985-12-10');
    const [shown] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === 'POST'),
      page.getByRole('button', { name: 'Show my message' }).click(),
    ]);
    assert.equal(shown.status(), 200);
    assert.equal(shown.headers()['cache-control'], 'no-store');
    const text = await page.locator('main').innerText();
    assert.match(text, /Cardiology, 3rd floor, room 312/);
    assert.match(text, /Dr\. Ana Rivera/);
    assert.ok(text.includes(CLINIC_PHONE_DISPLAY), 'the clinic phone is on the page');
    assert.match(text, /What to do/);
    await page.screenshot({ path: path.join(screenshots, '3-message.png'), fullPage: true });

    const title = await page.title();
    assert.equal(title, 'Secure message');
    for (const secret of ['Cardiology', 'Rivera', '1985', 'Test Patient']) assert.ok(!title.includes(secret));
    assert.ok(!page.url().includes('1985'), 'no date of birth in the URL');
    const foreign = requested.filter((url) => new URL(url).origin !== world.origin);
    assert.deepEqual(foreign, [], 'the page asked nothing of any other origin');
    assert.deepEqual(blocked, [], 'the policy blocked nothing the page uses');
    assert.ok(fs.readdirSync(screenshots).length === 3);
    await context.close();
  });

  it('shows the Spanish page to a Spanish-speaking patient', async () => {
    const sent = await world.sendReminder({
      dateOfBirth: '1970-01-31',
      phone: '+14155550812',
      language: 'es',
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(sent.link);
    assert.equal(await page.getAttribute('html', 'lang'), 'es');
    await page.getByLabel('Fecha de nacimiento').fill('1970-01-31');
    await page.getByRole('button', { name: 'Ver mi mensaje' }).click();
    await page.waitForLoadState();
    assert.match(await page.locator('main').innerText(), /Qué hacer/);
    await context.close();
  });
});
