// `npm run build`: the production workflow bundle (dist/workflow-bundle.js), so workers start without
// bundling, and the compiled CLI (dist/cli), so commands start without compiling. Run it again after
// changing the sources; until then workers bundle from source and the CLI runs through tsx.
import { buildCli } from '../bin/prebuilt-cli.mjs';
import { runMain } from '../infra/process-lifecycle';
import { buildWorkflowBundle } from '../worker/workflow-bundle';

const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

runMain(async () => {
  const started = Date.now();
  const { file, bytes } = await buildWorkflowBundle();
  process.stdout.write(
    `workflow bundle ${file} (${(bytes / 1024).toFixed(0)} KiB) in ${seconds(started)}s\n`,
  );
  const cliStarted = Date.now();
  const cli = await buildCli();
  process.stdout.write(`CLI ${cli.dir} (${cli.modules} modules) in ${seconds(cliStarted)}s\n`);
});
