import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Cross-process mutual exclusion with a lock directory (mkdir is atomic). The owner's pid is recorded so
 * that a lock left behind by a killed process is taken over instead of blocking forever.
 */
export async function withDirectoryLock<T>(
  lockDir: string,
  progress: (line: string) => void,
  action: () => Promise<T>,
): Promise<T> {
  const ownerFile = path.join(lockDir, 'owner');
  let announced = false;
  for (;;) {
    try {
      await fs.mkdir(lockDir, { mode: 0o700 });
      await fs.writeFile(ownerFile, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await ownerIsGone(ownerFile)) {
        await fs.rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        progress(`waiting for another process that holds ${lockDir}`);
        announced = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await action();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}

async function ownerIsGone(ownerFile: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(await fs.readFile(ownerFile, 'utf8'));
  } catch {
    // The owner may be between mkdir and writing its pid; only treat a long-ownerless lock as stale.
    const stat = await fs.stat(path.dirname(ownerFile)).catch(() => undefined);
    return stat !== undefined && Date.now() - stat.mtimeMs > 10_000;
  }
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
