// The tests need nothing beside the repository (issue 12): every file under test/fixtures is accounted for in
// test/fixtures/SOURCES.md (origin, SPDX licence, sha256), and no test source reaches outside the repository
// for the shared test-data collection.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

// This file runs as dist/test/fixtures-sources.test.js.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES = join(ROOT, 'test', 'fixtures');
// Spelt in pieces so that this file does not trip its own check.
const FORBIDDEN = ['..' + '/shared', 'shared' + '/testdata'];

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}
const rel = (base: string, p: string) => relative(base, p).split(sep).join('/');
const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Everything wrong between a fixtures directory and its SOURCES.md; empty when they agree. */
function fixtureProblems(dir: string): string[] {
  const problems: string[] = [];
  const sources = readFileSync(join(dir, 'SOURCES.md'), 'utf8');
  const origins = new Set<string>();
  const listed = new Map<string, string>();
  let section = '';
  for (const line of sources.split('\n')) {
    if (line.startsWith('## ')) section = line.slice(3).trim();
    const row = /^\| `([^`]+)` \| ([^|]+?) \| [^|]+ \| `([0-9a-f]{64})` \|$/.exec(line);
    if (row !== null) {
      const [, path, origin, digest] = row as unknown as [string, string, string, string];
      if (listed.has(path)) problems.push(`listed twice: ${path}`);
      listed.set(path, digest);
      if (!origins.has(origin)) problems.push(`unknown origin "${origin}" for ${path}`);
    } else if (section === 'Origins') {
      const o = /^\| ([A-Za-z0-9-]+) \|/.exec(line);
      if (o !== null) origins.add(o[1]!);
    }
  }
  for (const named of new Set([...sources.matchAll(/`(LICENSES\/[^`*]+)`/g)].map((m) => m[1]!))) {
    if (!listed.has(named)) problems.push(`licence text named but not bundled: ${named}`);
  }
  const present = walk(dir).map((p) => rel(dir, p)).filter((p) => p !== 'SOURCES.md');
  for (const p of present) {
    const want = listed.get(p);
    if (want === undefined) problems.push(`not in SOURCES.md: ${p}`);
    else if (sha256(join(dir, p)) !== want) problems.push(`sha256 differs: ${p}`);
  }
  const presentSet = new Set(present);
  for (const p of listed.keys()) if (!presentSet.has(p)) problems.push(`listed but absent: ${p}`);
  return problems;
}

/** Test sources (outside test/fixtures) that mention the shared collection beside the repository. */
function outsideReferences(testDir: string): string[] {
  const hits: string[] = [];
  for (const p of walk(testDir)) {
    const r = rel(testDir, p);
    if (r.startsWith('fixtures/') || !/\.(ts|js|mjs|cjs|json)$/.test(r)) continue;
    const text = readFileSync(p, 'utf8');
    for (const f of FORBIDDEN) if (text.includes(f)) hits.push(`${r}: ${f}`);
  }
  return hits;
}

const tmp = mkdtempSync(join(tmpdir(), 'warden-fixtures-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('every file under test/fixtures is in SOURCES.md with its sha256, and every listed file is there', () => {
  assert.deepEqual(fixtureProblems(FIXTURES), []);
  // The list is not trivially empty: the real collection and the licence texts are covered.
  const listedRows = readFileSync(join(FIXTURES, 'SOURCES.md'), 'utf8').split('\n').filter((l) => /`[0-9a-f]{64}` \|$/.test(l));
  assert.ok(listedRows.length > 300, String(listedRows.length));
});

test('no test source reads the shared collection beside the repository', () => {
  assert.deepEqual(outsideReferences(join(ROOT, 'test')), []);
});

test('a fixture changed, added, removed or with an unknown origin is reported', () => {
  const copy = join(tmp, 'fixtures');
  cpSync(FIXTURES, copy, { recursive: true });
  writeFileSync(join(copy, 'nitro_attestation', 'root.pem'), 'not the AWS root\n');
  writeFileSync(join(copy, 'extra.json'), '{}\n');
  rmSync(join(copy, 'crypto_vectors', 'dsse', 'dsse_spec_test_vector.json'));
  const sources = readFileSync(join(copy, 'SOURCES.md'), 'utf8');
  writeFileSync(join(copy, 'SOURCES.md'), sources.replace('| `pii/presidio-research/data/synth_dataset_v2.json` | presidio |', '| `pii/presidio-research/data/synth_dataset_v2.json` | nowhere |'));
  assert.deepEqual(fixtureProblems(copy).sort(), [
    'listed but absent: crypto_vectors/dsse/dsse_spec_test_vector.json',
    'not in SOURCES.md: extra.json',
    'sha256 differs: nitro_attestation/root.pem',
    'unknown origin "nowhere" for pii/presidio-research/data/synth_dataset_v2.json',
  ]);
});

test('a licence text named in SOURCES.md but not bundled is reported', () => {
  const copy = join(tmp, 'fixtures-licence');
  cpSync(FIXTURES, copy, { recursive: true });
  const licence = 'LICENSES/MIT.microsoft-BIPIA.txt';
  rmSync(join(copy, licence));
  const sources = readFileSync(join(copy, 'SOURCES.md'), 'utf8').split('\n').filter((l) => !l.startsWith(`| \`${licence}\``));
  writeFileSync(join(copy, 'SOURCES.md'), sources.join('\n'));
  assert.deepEqual(fixtureProblems(copy), [`licence text named but not bundled: ${licence}`]);
});

test('a test source naming the shared collection is reported', () => {
  const dir = join(tmp, 'test');
  cpSync(join(ROOT, 'test', 'helpers'), join(dir, 'helpers'), { recursive: true });
  writeFileSync(join(dir, 'helpers', 'old.ts'), `export const T = '${FORBIDDEN[0]}/testdata';\n`);
  assert.deepEqual(outsideReferences(dir), [`helpers/old.ts: ${FORBIDDEN[0]}`, `helpers/old.ts: ${FORBIDDEN[1]}`]);
});
