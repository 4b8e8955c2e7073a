import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChannelError } from '../../channels/channel-error';
import { fromTwilioStatus } from '../../channels/provider-status';
import { createSmtpEmailSender } from '../../channels/smtp-email';
import { createTwilioSmsSender } from '../../channels/twilio-sms';
import { startSmtpPeer } from '../../peers/smtp-peer';
import { startTestPeers, tempDir } from '../support/harness';

describe('SMS over the real twilio SDK and the local Twilio peer', () => {
  let peers: Awaited<ReturnType<typeof startTestPeers>>;
  before(async () => {
    peers = await startTestPeers();
  });
  after(() => peers.stop());

  it('hands a message off and finds it again', async () => {
    const sms = createTwilioSmsSender(peers.twilio);
    const since = new Date();
    const sent = await sms.send({ to: '+14155550123', body: 'hello from the test' });
    assert.match(sent.providerMessageId, /^SM[0-9a-f]{32}$/);
    assert.equal(sent.status, 'accepted');
    const stored = peers.sms.messages().find((message) => message.sid === sent.providerMessageId);
    assert.equal(stored?.body, 'hello from the test');
    assert.equal(stored?.from, peers.twilio.fromNumber);

    const found = await sms.findSent({ to: '+14155550123', marker: 'from the test', since });
    assert.equal(found?.providerMessageId, sent.providerMessageId);
    assert.equal(await sms.findSent({ to: '+14155550123', marker: 'another', since }), undefined);
  });

  it('finds a message Twilio still holds queued, with no send date yet', async () => {
    const sms = createTwilioSmsSender(peers.twilio);
    const since = new Date();
    peers.sms.holdQueued();
    try {
      const sent = await sms.send({ to: '+14155550124', body: 'queued marker-q1 body' });
      const stored = peers.sms.messages().find((message) => message.sid === sent.providerMessageId);
      assert.equal(stored?.status, 'queued');
      assert.equal(stored?.date_sent, null, 'like Twilio, a queued message has no date_sent');
      const found = await sms.findSent({ to: '+14155550124', marker: 'marker-q1', since });
      assert.equal(found?.providerMessageId, sent.providerMessageId);
      assert.equal(found?.status, 'accepted');
    } finally {
      peers.sms.release();
    }
  });

  it('classifies failures by Twilio error code, not by HTTP status', async () => {
    const sms = createTwilioSmsSender(peers.twilio);
    const before = peers.sms.messages().length;
    const cases = [
      [{ status: 429, retryAfter: 7 }, 'transient', 'twilio-20429', 7000],
      [{ status: 500 }, 'transient', 'twilio-20500', undefined],
      // The sender's queue is full: a 400, and yet it passes.
      [{ status: 400, code: 21611 }, 'transient', 'twilio-21611', undefined],
      [{ status: 400, code: 21610 }, 'opted-out', 'twilio-21610', undefined],
      [{ status: 401, code: 20003 }, 'configuration', 'twilio-20003', undefined],
      [{ status: 404, code: 20404 }, 'configuration', 'twilio-20404', undefined],
    ] as const;
    for (const [fault, kind, code, retryAfterMs] of cases) {
      peers.sms.failNext(fault);
      await assert.rejects(sms.send({ to: '+14155550123', body: 'x' }), (error: unknown) => {
        assert.ok(error instanceof ChannelError);
        assert.deepEqual([error.kind, error.code, error.retryAfterMs], [kind, code, retryAfterMs]);
        return true;
      });
    }
    assert.equal(peers.sms.messages().length, before, 'a refused request stores nothing');
  });

  it('maps every Twilio message status onto the delivery vocabulary', () => {
    assert.equal(fromTwilioStatus('partially_delivered'), 'delivered');
    assert.equal(fromTwilioStatus('undelivered'), 'failed');
    assert.equal(fromTwilioStatus('failed'), 'failed');
    assert.equal(fromTwilioStatus('queued'), 'accepted');
  });

  it('reports an unreachable number as permanent', async () => {
    const sms = createTwilioSmsSender(peers.twilio);
    await assert.rejects(sms.send({ to: '+1415', body: 'x' }), (error: unknown) => {
      assert.ok(error instanceof ChannelError);
      assert.equal(error.kind, 'recipient');
      assert.equal(error.code, 'twilio-21211');
      return true;
    });
  });

  it('rejects wrong credentials', async () => {
    const sms = createTwilioSmsSender({ ...peers.twilio, authToken: 'wrong' });
    await assert.rejects(
      sms.send({ to: '+14155550123', body: 'x' }),
      (error: unknown) => error instanceof ChannelError && error.kind === 'configuration',
    );
  });
});

describe('email over nodemailer and the local SMTP peer', () => {
  let peers: Awaited<ReturnType<typeof startTestPeers>>;
  before(async () => {
    peers = await startTestPeers();
  });
  after(() => peers.stop());

  it('delivers over STARTTLS, verifying the peer certificate', async () => {
    const email = createSmtpEmailSender(peers.smtpSettings);
    const sent = await email.send({
      to: 'patient@example.com',
      subject: 'A reminder',
      text: 'Body text',
      messageId: `fixed-id@${email.domain}`,
    });
    assert.equal(email.domain, 'carebell.localhost', 'the domain of the From address');
    assert.equal(sent.providerMessageId, 'fixed-id@carebell.localhost');
    const [raw] = await peers.smtp.messages();
    assert.match(raw!, /^Message-ID: <fixed-id@carebell.localhost>$/m);
    assert.match(raw!, /^Subject: A reminder$/m);
  });

  it('refuses a relay whose certificate it does not trust', async () => {
    const email = createSmtpEmailSender({ ...peers.smtpSettings, caFile: undefined });
    const before = (await peers.smtp.messages()).length;
    await assert.rejects(
      email.send({ to: 'patient@example.com', subject: 's', text: 't', messageId: 'untrusted@carebell' }),
      (error: unknown) => error instanceof ChannelError && error.kind === 'configuration',
    );
    assert.equal((await peers.smtp.messages()).length, before);
  });

  it('takes any 5xx as permanent and any 4xx as transient, at RCPT and at DATA (RFC 5321 4.2.1)', async () => {
    const email = createSmtpEmailSender(peers.smtpSettings);
    const before = (await peers.smtp.messages()).length;
    const cases = [
      [{ stage: 'rcpt', code: 550 }, 'recipient', 'smtp-550'],
      [{ stage: 'data', code: 550 }, 'recipient', 'smtp-550'],
      [{ stage: 'data', code: 552 }, 'recipient', 'smtp-552'],
      [{ stage: 'data', code: 554 }, 'recipient', 'smtp-554'],
      [{ stage: 'rcpt', code: 450 }, 'transient', 'smtp-450'],
      [{ stage: 'data', code: 451 }, 'transient', 'smtp-451'],
    ] as const;
    for (const [fault, kind, code] of cases) {
      peers.smtp.failNext(fault);
      await assert.rejects(
        email.send({ to: 'patient@example.com', subject: 's', text: 't', messageId: `${code}@x` }),
        (error: unknown) => {
          assert.ok(error instanceof ChannelError);
          assert.deepEqual([error.kind, error.code], [kind, code], `${fault.stage} ${fault.code}`);
          return true;
        },
      );
    }
    assert.equal((await peers.smtp.messages()).length, before, 'nothing refused was stored');
  });

  it('fails instead of sending in plaintext to a relay without TLS', async () => {
    const dir = await tempDir('plain-smtp');
    const plain = await startSmtpPeer({ port: 0, dir, withoutTls: true });
    try {
      const email = createSmtpEmailSender({
        url: `smtp://127.0.0.1:${plain.port}`,
        from: 'reminders@carebell.localhost',
        caFile: plain.certFile,
      });
      await assert.rejects(
        email.send({ to: 'patient@example.com', subject: 's', text: 'secret', messageId: 'plain@carebell' }),
        (error: unknown) => {
          assert.ok(error instanceof ChannelError);
          assert.equal(error.code, 'smtp-ETLS');
          assert.equal(error.kind, 'configuration');
          return true;
        },
      );
      assert.deepEqual(await plain.messages(), [], 'nothing reached the plaintext relay');
    } finally {
      await plain.close();
    }
  });
});
