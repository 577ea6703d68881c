// `warden release build` and `warden verify-release` as real child processes on a small real package (a git
// repository with a lockfile): npm pack, npm sbom and the DSSE signing all run for real; each refusal of
// verify-release is provoked by the change an attacker would make.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sha256Hex } from '../../../src/core/digest.js';
import { signEnvelope } from '../../../src/workload/signing/dsse.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../../../src/workload/signing/statement.js';
import { buildReleaseStatement, verifyRelease, type ReleaseFacts } from '../../../src/workload/release/provenance.js';

const MAIN = new URL('../../../src/cli/main.js', import.meta.url).href;
const RUNNER = `const { run } = await import(${JSON.stringify(MAIN)}); process.exitCode = await run(process.argv.slice(1));`;
const tmp = mkdtempSync(join(tmpdir(), 'warden-release-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const warden = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', RUNNER, ...args], { encoding: 'utf8', cwd: tmp });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const pkgDir = join(tmp, 'pkg');
const out = join(tmp, 'out');
const pair = (n: string) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(tmp, `${n}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(tmp, `${n}.pub`), publicKey.export({ type: 'spki', format: 'pem' }));
};
pair('release');
pair('other');
const tgz = join(out, 'demo-pkg-1.2.3.tgz');
const sbom = join(out, 'demo-pkg-1.2.3.cdx.json');
const prov = join(out, 'demo-pkg-1.2.3.provenance.json');
const verify = (over: { tarball?: string; sbom?: string; prov?: string; key?: string } = {}) =>
  warden('verify-release', over.tarball ?? tgz, '--provenance', over.prov ?? prov, '--sbom', over.sbom ?? sbom, '--key', over.key ?? join(tmp, 'release.pub'));

const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: pkgDir, stdio: 'ignore' });

before(() => {
  mkdirSync(join(pkgDir, 'lib'), { recursive: true });
  writeFileSync(join(pkgDir, 'package.json'), JSON.stringify({ name: 'demo-pkg', version: '1.2.3', main: 'lib/index.js', license: 'Apache-2.0' }, null, 2));
  writeFileSync(join(pkgDir, 'package-lock.json'), JSON.stringify({ name: 'demo-pkg', version: '1.2.3', lockfileVersion: 3, requires: true, packages: { '': { name: 'demo-pkg', version: '1.2.3', license: 'Apache-2.0' } } }, null, 2));
  writeFileSync(join(pkgDir, 'lib', 'index.js'), 'export const answer = 42;\n');
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'first');
});

test('an uncommitted change refuses the build: the provenance would name a commit that is not what was packed', () => {
  writeFileSync(join(pkgDir, 'lib', 'index.js'), 'export const answer = 43;\n');
  try {
    const r = warden('release', 'build', '--key', join(tmp, 'release.pem'), '--dir', pkgDir, '--out', out);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /uncommitted changes/);
  } finally {
    git('checkout', '--', 'lib/index.js');
  }
});

test('build then verify: tarball, CycloneDX SBOM and signed provenance check out', () => {
  const b = warden('release', 'build', '--key', join(tmp, 'release.pem'), '--dir', pkgDir, '--out', out);
  assert.equal(b.code, 0, b.err);
  assert.match(b.out, /tarball .*demo-pkg-1\.2\.3\.tgz/);
  const bom = JSON.parse(readFileSync(sbom, 'utf8'));
  assert.equal(bom.bomFormat, 'CycloneDX');
  const envelope = JSON.parse(readFileSync(prov, 'utf8'));
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  assert.equal(statement.subject[0].digest.sha256, sha256Hex(readFileSync(tgz)));
  assert.equal(statement.predicateType, 'https://slsa.dev/provenance/v1');
  assert.equal(statement.predicate.buildDefinition.resolvedDependencies[0].digest.gitCommit.length, 40);
  const v = verify();
  assert.equal(v.code, 0, v.err);
  assert.match(v.out, /release verified: demo-pkg@1\.2\.3/);
});

test('verify-release refuses another key', () => {
  const v = verify({ key: join(tmp, 'other.pub') });
  assert.equal(v.code, 1);
  assert.match(v.err, /no DSSE signature verifies/);
});

test('verify-release refuses a tarball with one byte changed', () => {
  const bytes = Buffer.from(readFileSync(tgz));
  const mid = bytes.length >> 1;
  bytes.writeUInt8(bytes.readUInt8(mid) ^ 0x01, mid);
  const changed = join(tmp, 'changed.tgz');
  writeFileSync(changed, bytes);
  const v = verify({ tarball: changed });
  assert.equal(v.code, 1);
  assert.match(v.err, /tarball sha256 [0-9a-f]{64} is not the signed subject's/);
});

test('verify-release refuses a swapped SBOM, even a well-formed CycloneDX one', () => {
  const bom = JSON.parse(readFileSync(sbom, 'utf8'));
  bom.components = [{ type: 'library', name: 'left-pad', version: '1.3.0' }];
  const swapped = join(tmp, 'swapped.cdx.json');
  writeFileSync(swapped, JSON.stringify(bom));
  const v = verify({ sbom: swapped });
  assert.equal(v.code, 1);
  assert.match(v.err, /SBOM sha256 [0-9a-f]{64} is not the signed/);
});

test('verify-release refuses a provenance whose statement was edited after signing', () => {
  const envelope = JSON.parse(readFileSync(prov, 'utf8'));
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  statement.subject[0].digest.sha256 = 'a'.repeat(64);
  envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
  const edited = join(tmp, 'edited.provenance.json');
  writeFileSync(edited, JSON.stringify(envelope));
  const v = verify({ prov: edited });
  assert.equal(v.code, 1);
  assert.match(v.err, /no DSSE signature verifies/);
});

test('a signed statement with a second subject, or without the SBOM byproduct, is refused', async () => {
  const signer = pemSigner(readFileSync(join(tmp, 'release.pem')));
  const facts: ReleaseFacts = {
    packageName: 'demo-pkg',
    version: '1.2.3',
    tarball: { name: 'demo-pkg-1.2.3.tgz', bytes: readFileSync(tgz) },
    sbom: { name: 'demo-pkg-1.2.3.cdx.json', bytes: readFileSync(sbom) },
    source: { uri: 'git+file:///x', commit: '0'.repeat(40), clean: true },
    builderId: 'https://warden.local/release/builder/test',
    startedOn: new Date(0),
    finishedOn: new Date(0),
  };
  const key = pemSigner(readFileSync(join(tmp, 'release.pem'))).publicKey;
  const sign = async (s: Record<string, unknown>) => signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(s)), signer);
  const input = { tarball: facts.tarball.bytes, sbom: facts.sbom.bytes, key };
  assert.equal(verifyRelease({ ...input, envelope: await sign(buildReleaseStatement(facts)) }).version, '1.2.3');

  const two = buildReleaseStatement(facts);
  (two.subject as unknown[]).push({ name: 'other.tgz', digest: { sha256: 'b'.repeat(64) } });
  assert.throws(() => verifyRelease({ ...input, envelope: null }), { code: 'release_provenance_malformed' });
  const twoEnv = await sign(two);
  assert.throws(() => verifyRelease({ ...input, envelope: twoEnv }), { code: 'release_statement_invalid', message: /exactly one subject/ });

  const noSbom = buildReleaseStatement(facts) as { predicate: { runDetails: { byproducts: unknown[] } } };
  noSbom.predicate.runDetails.byproducts = [];
  const noSbomEnv = await sign(noSbom);
  assert.throws(() => verifyRelease({ ...input, envelope: noSbomEnv }), { code: 'release_statement_invalid', message: /CycloneDX SBOM/ });
});
