import { cacheDir, type Config } from '../config';
import { resolveTemporalCli, resolveTestServer } from '../infra/temporal-binaries';
import { printJson, progress } from './output';

export async function provisionCommand(config: Config, options: { json?: boolean }): Promise<void> {
  const started = Date.now();
  const cacheRoot = cacheDir();
  // Sequential on purpose: both builds are CPU-bound and this machine class has two cores.
  const cli = await resolveTemporalCli({
    cacheRoot,
    explicitPath: config.embedded.temporalCliPath,
    progress,
  });
  const testServer = await resolveTestServer({
    cacheRoot,
    explicitPath: config.embedded.temporalTestServerPath,
    progress,
  });
  const seconds = (Date.now() - started) / 1000;
  if (options.json) {
    printJson({ cacheDir: cacheRoot, temporalCli: cli, testServer, seconds });
    return;
  }
  const describe = (binary: typeof cli) =>
    `${binary.path ?? '(the SDK downloads its own)'} [${binary.source}]`;
  process.stdout.write(
    `Temporal dev server   ${describe(cli)}\nTime-skipping server  ${describe(testServer)}\nready in ${seconds.toFixed(2)}s\n`,
  );
}
