// `npm run build`: the production workflow bundle (dist/workflow-bundle.js), so workers start without
// bundling. Run it again after changing workflows/ or domain/; until then workers bundle from source.
import { runMain } from '../infra/process-lifecycle';
import { buildWorkflowBundle } from '../worker/workflow-bundle';

runMain(async () => {
  const started = Date.now();
  const { file, bytes } = await buildWorkflowBundle();
  process.stdout.write(
    `workflow bundle ${file} (${(bytes / 1024).toFixed(0)} KiB) in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
  );
});
