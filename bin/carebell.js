#!/usr/bin/env node
// Runs the TypeScript CLI straight from the checkout (no build step), so `npx carebell` works in a clone.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
