#!/usr/bin/env node
// `dev`: registers tsx's ESM loader in this process (no second node start) and runs cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../main.ts');
const code = await main(process.argv.slice(2));
// Anything still holding the event loop (a keep-alive socket, a stray timer) must not keep `dev` alive.
process.exit(code);
