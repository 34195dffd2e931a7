#!/usr/bin/env node
// Runs the TypeScript CLI in this process through tsx's loader, so `npx rtrec` works straight from a
// clone (no build step) and signals reach the CLI directly.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
