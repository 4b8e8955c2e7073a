// Workflow code reaches the worker either as source (bundled by the SDK at every start, a few seconds)
// or as a bundle built once by `npm run build`, which production images use. A bundle is used only while
// the sources it was built from are unchanged, so a stale one can never run old workflow code.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';
import { failureConverterPath } from '../security/data-converter';

const root = fileURLToPath(new URL('..', import.meta.url));
export const workflowsPath = path.join(root, 'workflows', 'index.ts');
const bundleFile = path.join(root, 'dist', 'workflow-bundle.js');
const stampFile = `${bundleFile}.sha256`;

/** Workflows may import only workflows/ and domain/ (lint enforces it), and the locked packages. */
async function sourceDigest(): Promise<string> {
  const hash = createHash('sha256');
  // This file and the failure converter too: both decide what the bundle holds.
  const files = ['package-lock.json', 'worker/workflow-bundle.ts', 'security/failure-converter.ts'];
  for (const dir of ['workflows', 'domain']) {
    const entries = await fs.readdir(path.join(root, dir), { recursive: true });
    files.push(...entries.filter((name) => name.endsWith('.ts')).map((name) => path.join(dir, name)));
  }
  for (const file of files.sort())
    hash
      .update(file)
      .update('\0')
      .update(await fs.readFile(path.join(root, file)));
  return hash.digest('hex');
}

export async function buildWorkflowBundle(): Promise<{ file: string; bytes: number }> {
  // Without the failure converter compiled in, a worker on this bundle would leave failure messages and
  // stack traces in the history in clear.
  const { code } = await bundleWorkflowCode({ workflowsPath, failureConverterPath });
  await fs.mkdir(path.dirname(bundleFile), { recursive: true });
  // Written beside and renamed into place, the stamp last: a reader never sees half a bundle, nor a
  // stamp that vouches for a bundle not yet written.
  const write = async (file: string, content: string) => {
    const partial = `${file}.${process.pid}.partial`;
    await fs.writeFile(partial, content);
    await fs.rename(partial, file);
  };
  await write(bundleFile, code);
  await write(stampFile, await sourceDigest());
  return { file: bundleFile, bytes: Buffer.byteLength(code) };
}

/** The prebuilt bundle when it matches the sources, else the sources themselves. */
export async function workflowCode(): Promise<
  Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle'> & { prebuilt: boolean }
> {
  const stamp = await fs.readFile(stampFile, 'utf8').catch(() => undefined);
  if (stamp !== undefined && stamp === (await sourceDigest()))
    return { workflowBundle: { codePath: bundleFile }, prebuilt: true };
  return { workflowsPath, prebuilt: false };
}
