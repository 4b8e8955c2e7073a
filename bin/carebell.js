#!/usr/bin/env node
// Runs the CLI that `npm run build` compiled while it matches the sources, else the TypeScript straight
// from the checkout (no build step), so `npx carebell` works in a fresh clone too.
// The CommonJS loader either way: the Temporal SDK require()s the failure converter by its .ts path.
import { register as registerCommonJs } from 'tsx/cjs/api';
import { prebuiltCli } from './prebuilt-cli.mjs';

registerCommonJs();
const prebuilt = await prebuiltCli();
if (prebuilt) {
  await import(prebuilt);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
