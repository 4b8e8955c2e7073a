import fs from 'node:fs/promises';

/**
 * Creates `dir` (and any missing parents) for this user alone, and narrows it if it exists wider: the
 * data dir holds the key ring, tokens and the database's password.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const { mode } = await fs.stat(dir);
  if ((mode & 0o077) !== 0) await fs.chmod(dir, 0o700);
}
