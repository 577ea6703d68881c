import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { verifySbom } from '../../../src/workload/provenance/cyclonedx.js';
import { ProvenanceRejected, SbomRejected } from '../../../src/workload/provenance/errors.js';
import { SLSA_PROVENANCE_V1, verifyProvenance, type ProvenancePolicy } from '../../../src/workload/provenance/slsa.js';
import { signEnvelope } from '../../../src/workload/signing/dsse.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../../../src/workload/signing/statement.js';

const digest = 'sha256:' + 'ab'.repeat(32);
const builder = pemSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
const policy: ProvenancePolicy = { allowedBuilderIds: ['https://ci.acme.example/trainer@v1'], allowedSourcePrefixes: ['git+https://git.acme.example/'], builderKeys: [builder.publicKey], requireDatasets: true };

function statement(over: { subject?: string; builder?: string; source?: string; datasetDigest?: Record<string, string> | null } = {}) {
  const deps: unknown[] = [{ uri: over.source ?? 'git+https://git.acme.example/ml/llm@refs/heads/main', digest: { gitCommit: 'c'.repeat(40) } }];
  if (over.datasetDigest !== null) deps.push({ uri: 'https://data.acme.example/corpus-v3', digest: over.datasetDigest ?? { sha256: 'd'.repeat(64) }, annotations: { kind: 'dataset' } });
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'llm', digest: { sha256: (over.subject ?? digest).replace('sha256:', '') } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: { buildType: 'https://acme.example/training/v1', externalParameters: { epochs: 3 }, resolvedDependencies: deps },
      runDetails: { builder: { id: over.builder ?? 'https://ci.acme.example/trainer@v1' }, metadata: { invocationId: 'run-42' } },
    },
  };
}
const signed = (st: unknown) => signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(st)), builder);

test('signed SLSA v1 provenance with a pinned source and dataset digests verifies', async () => {
  const v = verifyProvenance(await signed(statement()), digest, policy);
  assert.equal(v.builderId, 'https://ci.acme.example/trainer@v1');
  assert.equal(v.source.digest.gitCommit, 'c'.repeat(40));
  assert.deepEqual(v.datasets, [{ uri: 'https://data.acme.example/corpus-v3', digest: { sha256: 'd'.repeat(64) } }]);
  assert.equal(v.signed, true);
});

test('provenance refusals: unsigned, wrong key, other artifact, untrusted builder, foreign source, dataset without digest', async () => {
  assert.throws(() => verifyProvenance(statement(), digest, policy), /not signed/);
  const other = pemSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const byOther = await signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement())), other);
  assert.throws(() => verifyProvenance(byOther, digest, policy), /any trusted builder key/);
  const cases: [ReturnType<typeof statement>, RegExp][] = [
    [statement({ subject: 'sha256:' + 'ef'.repeat(32) }), /another artifact/],
    [statement({ builder: 'https://evil.example/builder' }), /not trusted/],
    [statement({ source: 'git+https://github.com/evil/llm' }), /not an allowed repository/],
    [statement({ datasetDigest: {} }), /no usable digest/],
    [statement({ datasetDigest: null }), /no training dataset/],
  ];
  for (const [st, why] of cases) {
    const env = await signed(st);
    assert.throws(() => verifyProvenance(env, digest, policy), (e: unknown) => e instanceof ProvenanceRejected && why.test(e.message));
  }
  const good = await signed(statement());
  assert.throws(() => verifyProvenance(good, digest, { ...policy, builderKeys: [] }), /no builder key/);
});

test('an unsigned statement is accepted only when the policy says so', () => {
  assert.equal(verifyProvenance(statement(), digest, { ...policy, allowUnsigned: true }).signed, false);
});

const bom = (hash = digest.slice(7), extra: Record<string, unknown> = {}) => ({
  bomFormat: 'CycloneDX',
  specVersion: '1.6',
  serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
  metadata: { component: { type: 'machine-learning-model', name: 'llm', hashes: [{ alg: 'SHA-256', content: hash }] } },
  components: [{ type: 'data', name: 'corpus', version: '3' }, { type: 'library', name: 'tokenizers', version: '0.19.1' }],
  ...extra,
});

test('a CycloneDX 1.6 SBOM bound to the artifact verifies', () => {
  const v = verifySbom(bom(), digest);
  assert.equal(v.components, 2);
  assert.deepEqual(v.mlComponents, ['corpus@3']);
});

test('SBOM refusals: other artifact, SPDX, old spec, bad components', () => {
  assert.throws(() => verifySbom(bom('00'.repeat(32)), digest), SbomRejected);
  assert.throws(() => verifySbom({ spdxVersion: 'SPDX-2.3' }, digest), SbomRejected);
  assert.throws(() => verifySbom(bom(undefined, { specVersion: '1.2' }), digest), SbomRejected);
  assert.throws(() => verifySbom(bom(undefined, { components: [{ name: 'x' }] }), digest), SbomRejected);
  assert.throws(() => verifySbom(bom(undefined, { serialNumber: 'nope' }), digest), SbomRejected);
});
