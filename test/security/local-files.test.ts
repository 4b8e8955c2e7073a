// What the embedded default keeps on disk is for its own user: the data dir (key ring, tokens, runtime
// file) and the local peers' messages, which hold PHI. The SMS peer answers only with the account's
// credentials, as Twilio does, its listing of every message sent included.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSmtpEmailSender } from '../../channels/smtp-email';
import { createTwilioSmsSender } from '../../channels/twilio-sms';
import { loadConfig } from '../../config';
import { resolveOperators } from '../../infra/key-ring-source';
import { ensurePrivateDir } from '../../lib/private-files';
import { loadOrCreateKeyRingFile } from '../../security/key-ring';
import { startTestPeers, tempDir } from '../support/harness';

const modeOf = async (file: string) => (await fs.stat(file)).mode & 0o777;

/** Every directory and file under `root`, with its mode. */
async function modesUnder(root: string): Promise<{ file: string; mode: number; directory: boolean }[]> {
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  return Promise.all(
    entries.map(async (entry) => {
      const file = path.join(entry.parentPath, entry.name);
      return { file, mode: await modeOf(file), directory: entry.isDirectory() };
    }),
  );
}

describe('files and peers of the embedded default', () => {
  let peers: Awaited<ReturnType<typeof startTestPeers>>;
  let dir: string;

  before(async () => {
    [peers, dir] = await Promise.all([startTestPeers(), tempDir('files')]);
  });
  after(async () => {
    await peers?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('lists what the SMS peer received only for the account, as Twilio would', async () => {
    const { accountSid, authToken } = peers.twilio;
    const basic = (user: string, password: string) =>
      `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const list = (authorization?: string) =>
      fetch(`${peers.sms.url}/_peer/messages`, { headers: authorization ? { authorization } : {} });
    assert.equal((await list()).status, 401);
    assert.equal((await list(basic(accountSid, 'not-the-token'))).status, 401);
    assert.equal((await list(basic(accountSid, authToken))).status, 200);
  });

  it("keeps the peers' messages in directories and files for this user alone", async () => {
    await createTwilioSmsSender(peers.twilio).send({ to: '+14155550951', body: 'Your refill is due.' });
    await createSmtpEmailSender(peers.smtpSettings).send({
      to: 'patient@example.com',
      subject: 'A message from your clinic',
      text: 'Your refill is due.',
      messageId: 'files-test@carebell.localhost',
    });
    const entries = await modesUnder(peers.dir);
    assert.ok(
      entries.some((entry) => entry.file.endsWith('.json')) &&
        entries.some((entry) => entry.file.endsWith('.eml')),
    );
    for (const { file, mode, directory } of entries)
      assert.equal(
        mode,
        directory ? 0o700 : 0o600,
        `${path.relative(peers.dir, file)} is ${mode.toString(8)}`,
      );
  });

  it('creates the data dir for this user alone, narrows one made wider, and writes its secrets 0600', async () => {
    const dataDir = path.join(dir, 'fresh', 'data');
    // The first thing `npm start` writes there: the key ring, which creates the directory.
    await loadOrCreateKeyRingFile(path.join(dataDir, 'keyring.json'), () => {});
    assert.equal(await modeOf(dataDir), 0o700);
    assert.equal(await modeOf(path.join(dataDir, 'keyring.json')), 0o600);
    await resolveOperators(loadConfig({ CAREBELL_DATA_DIR: dataDir }));
    assert.equal(await modeOf(path.join(dataDir, 'operator-token')), 0o600);

    const opened = path.join(dir, 'opened');
    await fs.mkdir(opened, { mode: 0o755 });
    await fs.chmod(opened, 0o755);
    await ensurePrivateDir(opened);
    assert.equal(await modeOf(opened), 0o700);
  });
});
