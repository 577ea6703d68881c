// Locates ../shared/testdata (real public test material) from the repository root.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const TESTDATA = resolve(process.cwd(), '../shared/testdata');

export function testdata(...parts: string[]): string {
  const p = resolve(TESTDATA, ...parts);
  if (!existsSync(p)) throw new Error(`test data missing: ${p} (tests run from the repository root with ../shared beside it)`);
  return p;
}
