import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChannelError } from '../../channels/channel-error';
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

    const found = await sms.findSent({ to: '+14155550123', body: 'hello from the test' }, since);
    assert.equal(found?.providerMessageId, sent.providerMessageId);
    assert.equal(await sms.findSent({ to: '+14155550123', body: 'another body' }, since), undefined);
  });

  it('reports 429 and 5xx as transient', async () => {
    const sms = createTwilioSmsSender(peers.twilio);
    const before = peers.sms.messages().length;
    for (const status of [429, 500] as const) {
      peers.sms.failNext(status);
      await assert.rejects(sms.send({ to: '+14155550123', body: 'x' }), (error: unknown) => {
        assert.ok(error instanceof ChannelError);
        assert.equal(error.permanent, false);
        return true;
      });
    }
    assert.equal(peers.sms.messages().length, before, 'a refused request stores nothing');
  });

  it('reports an unreachable number as permanent', async () => {
    const sms = createTwilioSmsSender(peers.twilio);
    await assert.rejects(sms.send({ to: '+1415', body: 'x' }), (error: unknown) => {
      assert.ok(error instanceof ChannelError);
      assert.equal(error.permanent, true);
      assert.equal(error.code, 'twilio-21211');
      return true;
    });
  });

  it('rejects wrong credentials', async () => {
    const sms = createTwilioSmsSender({ ...peers.twilio, authToken: 'wrong' });
    await assert.rejects(sms.send({ to: '+14155550123', body: 'x' }), /Twilio answered 401/);
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
      messageId: 'fixed-id@carebell',
    });
    assert.equal(sent.providerMessageId, 'fixed-id@carebell');
    const [raw] = await peers.smtp.messages();
    assert.match(raw!, /^Message-ID: <fixed-id@carebell>$/m);
    assert.match(raw!, /^Subject: A reminder$/m);
  });

  it('refuses a relay whose certificate it does not trust', async () => {
    const email = createSmtpEmailSender({ ...peers.smtpSettings, caFile: undefined });
    const before = (await peers.smtp.messages()).length;
    await assert.rejects(
      email.send({ to: 'patient@example.com', subject: 's', text: 't', messageId: 'untrusted@carebell' }),
      (error: unknown) => error instanceof ChannelError && !error.permanent,
    );
    assert.equal((await peers.smtp.messages()).length, before);
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
          return true;
        },
      );
      assert.deepEqual(await plain.messages(), [], 'nothing reached the plaintext relay');
    } finally {
      await plain.close();
    }
  });
});
