#!/usr/bin/env node
// Entry point for `npx warden`: runs the compiled CLI (built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const main = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write('warden: the compiled CLI is missing (dist/src/cli/main.js). Run `npm ci` or `npm run build` first.\n');
  process.exit(2);
}
const { run } = await import(main);
process.exitCode = await run(process.argv.slice(2));
