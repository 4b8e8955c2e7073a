// The pickup page's rules without a browser, and the archive behind it: lockout after five wrong dates,
// expired and unknown links, every answer audited, the archive shown by the API to its own clinic only,
// and the purge leaving nothing past retention.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { and, eq, sql } from 'drizzle-orm';
import { auditLog, deliveryContents, messageLinks } from '../../db/schema';
import { withClinic } from '../../db/tenant';
import { insertApiKey } from '../../db/queries/api-keys';
import { generateApiKey } from '../../security/api-key';
import { purgeArchive } from '../../usecases/purge-archive';
import { CLINIC_PHONE_DISPLAY, startPickupWorld, type PickupWorld } from '../support/pickup';

describe('the pickup page and the message archive', () => {
  let world: PickupWorld;
  before(async () => {
    world = await startPickupWorld();
  });
  after(async () => {
    await world?.close();
  });

  const pathOf = (link: string) => new URL(link).pathname;
  const answer = (link: string, dateOfBirth: string) =>
    world.api.inject({
      method: 'POST',
      url: pathOf(link),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ dateOfBirth }).toString(),
    });
  const audits = (clinicId: string, action: string) =>
    world.database.owner.db
      .select({ outcome: auditLog.outcome, actor: auditLog.actor, objectId: auditLog.objectId })
      .from(auditLog)
      .where(and(eq(auditLog.clinicId, clinicId), eq(auditLog.action, action)))
      .orderBy(auditLog.id);

  it('locks the link after five wrong dates, and then even the right one is refused', async () => {
    const sent = await world.sendReminder({ dateOfBirth: '1960-05-05', phone: '+14155550821' });
    for (let attempt = 1; attempt <= 4; attempt++) {
      const wrong = await answer(sent.link, '1960-05-06');
      assert.equal(wrong.statusCode, 200);
      assert.match(wrong.body, new RegExp(`${5 - attempt} more tr`));
    }
    const fifth = await answer(sent.link, '05/07/1960');
    assert.equal(fifth.statusCode, 423);
    assert.match(fifth.body, /This link is locked/);
    assert.ok(fifth.body.includes(CLINIC_PHONE_DISPLAY), 'the locked page gives the clinic phone');
    const right = await answer(sent.link, '1960-05-05');
    assert.equal(right.statusCode, 423, 'a locked link stays locked');
    assert.doesNotMatch(right.body, /What to do/);
    const opened = await world.api.inject({ method: 'GET', url: pathOf(sent.link) });
    assert.equal(opened.statusCode, 423);
    const outcomes = (await audits(sent.clinicId, 'pickup.verify')).map((row) => row.outcome);
    assert.deepEqual(outcomes, ['failure', 'failure', 'failure', 'failure', 'failure', 'denied']);
    assert.ok((await audits(sent.clinicId, 'pickup.verify')).every((row) => row.actor === 'pickup-page'));
  });

  it('says an expired link has expired, with the clinic phone; the right date opens a live one', async () => {
    const sent = await world.sendReminder({
      dateOfBirth: '1991-02-28',
      phone: '+14155550822',
      details: { medication: 'Atorvastatin 20 mg' },
    });
    const right = await answer(sent.link, '1991-02-28');
    assert.equal(right.statusCode, 200);
    assert.match(right.body, /Atorvastatin 20 mg/);
    assert.equal(right.headers['cache-control'], 'no-store');
    assert.match(String(right.headers['content-security-policy']), /default-src 'none'/);
    await withClinic(world.database.db, sent.clinicId, (tx) =>
      tx
        .update(messageLinks)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(messageLinks.deliveryId, sent.deliveryId)),
    );
    const expired = await world.api.inject({ method: 'GET', url: pathOf(sent.link) });
    assert.equal(expired.statusCode, 410);
    assert.match(expired.body, /This link has expired/);
    assert.ok(expired.body.includes(CLINIC_PHONE_DISPLAY));
    const late = await answer(sent.link, '1991-02-28');
    assert.equal(late.statusCode, 410);
    assert.doesNotMatch(late.body, /Atorvastatin/);
    const outcomes = (await audits(sent.clinicId, 'pickup.verify')).map((row) => row.outcome);
    assert.deepEqual(outcomes, ['success', 'denied']);
  });

  it('answers an unknown or malformed token with a generic page that names no clinic', async () => {
    for (const url of ['/m/AAAAAAAAAAAA', '/m/not-a-token', '/m/%3Cscript%3E']) {
      const opened = await world.api.inject({ method: 'GET', url });
      assert.equal(opened.statusCode, 404, url);
      assert.match(opened.body, /This link does not work/);
      assert.doesNotMatch(opened.body, /Riverside|<script>/);
      assert.equal(opened.headers['cache-control'], 'no-store');
      const answered = await world.api.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'dateOfBirth=1980-01-01',
      });
      assert.equal(answered.statusCode, 404);
    }
  });

  it("shows the archived message to the clinic's patients:read key, and to no other clinic", async () => {
    const sent = await world.sendReminder({
      dateOfBirth: '1975-07-07',
      phone: '+14155550823',
      details: { location: 'Room 4' },
    });
    const other = await world.sendReminder({ dateOfBirth: '1975-07-07', phone: '+14155550824' });
    const keyOf = (clinicId: string) =>
      withClinic(world.database.db, clinicId, async (tx) => {
        const { key, prefix, hash } = generateApiKey();
        await insertApiKey(tx, { clinicId, name: 'test', prefix, keyHash: hash, scopes: ['patients:read'] });
        return key;
      });
    const read = async (clinicId: string, deliveryId: string) =>
      world.api.inject({
        method: 'GET',
        url: `/v1/deliveries/${deliveryId}`,
        headers: { authorization: `Bearer ${await keyOf(clinicId)}` },
      });
    const mine = await read(sent.clinicId, sent.deliveryId);
    assert.equal(mine.statusCode, 200);
    const body = mine.json<{
      channel: string;
      content: { sms: string; details: object; templateVersion: string };
    }>();
    assert.equal(body.channel, 'sms');
    assert.equal(body.content.sms, sent.sms, 'exactly what the peer received');
    assert.deepEqual(body.content.details, { location: 'Room 4' });
    assert.match(body.content.templateVersion, /^[0-9a-f]{12}$/);
    const theirs = await read(other.clinicId, sent.deliveryId);
    assert.equal(theirs.statusCode, 404);
    assert.equal((await audits(sent.clinicId, 'delivery.read')).length, 1);
  });

  it('purges everything past retention, and nothing else, with one audit row per clinic and batch', async () => {
    const old = await world.sendReminder({ dateOfBirth: '1950-01-01', phone: '+14155550825' });
    const kept = await world.sendReminder({ dateOfBirth: '1950-01-01', phone: '+14155550826' });
    await withClinic(world.database.db, old.clinicId, (tx) =>
      tx
        .update(deliveryContents)
        .set({ retainUntil: new Date(Date.now() - 24 * 3600 * 1000) })
        .where(eq(deliveryContents.id, old.deliveryId)),
    );
    const result = await purgeArchive(world.database.db, { actor: 'test', batchSize: 2 });
    assert.ok(result.contents >= 1);
    const owner = world.database.owner.db;
    const [past] = await owner.execute<{ count: number }>(
      sql`select count(*)::int as count from delivery_contents where retain_until <= now()`,
    );
    assert.equal(past!.count, 0, 'nothing past retention is left');
    const remaining = await owner.select({ id: deliveryContents.id }).from(deliveryContents);
    assert.ok(!remaining.some((row) => row.id === old.deliveryId));
    assert.ok(
      remaining.some((row) => row.id === kept.deliveryId),
      'content within retention stays',
    );
    const purged = await audits(old.clinicId, 'archive.purge');
    assert.equal(purged.length, 1);
    assert.match(purged[0]!.objectId!, /^1 rows retained until /);
    assert.equal((await audits(kept.clinicId, 'archive.purge')).length, 0);
    // The purged message's link now says it has expired rather than show anything.
    const opened = await answer(old.link, '1950-01-01');
    assert.equal(opened.statusCode, 410);
  });
});
