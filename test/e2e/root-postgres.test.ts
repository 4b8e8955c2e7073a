// A fresh machine as root: embedded PostgreSQL runs as the `postgres` system user, which cannot pass
// through a directory only root may enter (a `mktemp -d`, a home of mode 0700). `npm start` then stops
// with one line saying what to do, not a raw `spawn … initdb EACCES` stack trace.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../infra/free-port';
import { tempDir } from '../support/harness';

describe(
  'npm start as root under a directory only root can enter',
  { skip: process.getuid?.() !== 0 && 'runs as root only' },
  () => {
    let closed: string;

    before(async () => {
      closed = await tempDir('root-only');
      assert.equal((await fs.stat(closed)).mode & 0o777, 0o700, 'like `mktemp -d`');
    });
    after(() => fs.rm(closed, { recursive: true, force: true }));

    it('stops with one line that names the directory and what to do', async () => {
      const dataDir = path.join(closed, 'data');
      const child = spawn(process.execPath, ['--import', 'tsx', 'processes/start.ts'], {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          XDG_CACHE_HOME: process.env.XDG_CACHE_HOME,
          TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH,
          CAREBELL_DATA_DIR: dataDir,
          CAREBELL_POSTGRES_PORT: String(await freePort({ from: 20000, to: 32000 })),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      clearTimeout(timer);

      assert.equal(code, 1, `${stdout}\n${stderr}`);
      const lines = stderr.trim().split('\n');
      assert.equal(lines.length, 1, stderr);
      assert.match(
        lines[0]!,
        new RegExp(
          `^carebell: embedded PostgreSQL runs as the system user "postgres", which cannot enter ${closed} \\(mode 0700\\) on the way to the data dir ${dataDir}: .*CAREBELL_DATA_DIR.*DATABASE_URL`,
        ),
      );
      assert.doesNotMatch(stderr, /EACCES|\n\s+at /);
    });
  },
);
