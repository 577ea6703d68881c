// Locates the real public test material copied into test/fixtures (provenance, licences and sha256 of every
// file in test/fixtures/SOURCES.md). Resolved from this module, so tests need nothing beside the repository.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// This file runs as dist/test/helpers/testdata.js; the fixtures stay in the source tree.
export const TESTDATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

export function testdata(...parts: string[]): string {
  const p = resolve(TESTDATA, ...parts);
  if (!existsSync(p)) throw new Error(`test data missing: ${p} (copy it into test/fixtures and list it in test/fixtures/SOURCES.md)`);
  return p;
}
