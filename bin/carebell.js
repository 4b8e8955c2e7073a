#!/usr/bin/env node
// Runs the TypeScript CLI straight from the checkout (no build step), so `npx carebell` works in a clone.
// Both loaders: the Temporal SDK require()s some modules by path.
import { register as registerCommonJs } from 'tsx/cjs/api';
import { register } from 'tsx/esm/api';

register();
registerCommonJs();
await import('../cli/main.ts');
