// The promotion gate, end to end with real processes: a model whose signed SLSA provenance names a training
// dataset by digest is refused promotion while that dataset is unregistered, then unverified, then not
// approved by trainOn for the model, and promoted once it is; each refusal is in the ledger and
// `warden model show` explains every dataset.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SLSA_PROVENANCE_V1 } from '../../../src/workload/provenance/slsa.js';
import { signEnvelope } from '../../../src/workload/signing/dsse.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../../../src/workload/signing/statement.js';
import { runWarden } from '../../helpers/proc.js';
import { startTestWarden, type TestWarden } from '../../helpers/warden.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-gate-'));
let t: TestWarden | undefined;
after(async () => {
  await t?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const LAB_PROMOTION_POLICY = `@id("lab-bootstrap-promotes")
permit (principal == User::"admin", action == Action::"promoteModel", resource)
when { context.authn.method == "bootstrap" };`;
const BUILDER = 'https://ci.acme.example/trainer@v1';

function keypair(name: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(tmp, `${name}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(tmp, `${name}.pub`), publicKey.export({ type: 'spki', format: 'pem' }));
  return { key: join(tmp, `${name}.pem`), pub: join(tmp, `${name}.pub`) };
}

test('promotion waits for the training dataset to be registered, verified and approved (trainOn)', async () => {
  const signing = keypair('signing');
  const builder = keypair('builder');
  const source = keypair('source');
  const model = join(tmp, 'tiny-llm');
  mkdirSync(model);
  writeFileSync(join(model, 'config.json'), '{"model_type":"llama"}');
  const data = join(tmp, 'corpus');
  mkdirSync(data);
  writeFileSync(join(data, 'train.jsonl'), Array.from({ length: 20 }, (_, i) => JSON.stringify({ text: `question ${i}`, label: i % 2 ? 'a' : 'b' })).join('\n') + '\n');

  t = await startTestWarden((c) => {
    c.workload.trustedSigners = [signing.pub];
    c.workload.provenance = { require: true, allowedBuilderIds: [BUILDER], builderKeys: [builder.pub], allowUnsigned: false, requireDatasets: true };
  });
  const starter = join(process.cwd(), 'policies/starter');
  await t.admin('POST', '/admin/v1/policies', { text: [...readdirSync(starter).filter((f) => f.endsWith('.cedar')).map((f) => readFileSync(join(starter, f), 'utf8')), LAB_PROMOTION_POLICY].join('\n') });
  const env = { WARDEN_ADMIN_URL: t.w.adminUrl, WARDEN_CA: t.w.caPemPath, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_MFA_TOKEN: '' };
  const warden = (...args: string[]) => runWarden(args, env);

  const ds = await warden('data', 'sign', data, '--key', source.key, '--name', 'corpus', '--version', '3', '--source', 'acme-curation', '--owner', 'ml', '--licence', 'CC-BY-4.0', '--classification', 'internal');
  assert.equal(ds.code, 0, ds.stderr);
  const datasetHex = /dataset digest sha256:([0-9a-f]{64})/.exec(ds.stdout)![1]!;
  const ms = await warden('model', 'sign', model, '--key', signing.key);
  assert.equal(ms.code, 0, ms.stderr);
  const modelHex = /model digest sha256:([0-9a-f]{64})/.exec(ms.stdout)![1]!;
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'tiny-llm', digest: { sha256: modelHex } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: 'https://acme.example/training/v1', externalParameters: { epochs: 1 },
        resolvedDependencies: [
          { uri: 'git+https://git.acme.example/ml/tiny@refs/heads/main', digest: { gitCommit: 'c'.repeat(40) } },
          { uri: 'warden-dataset:corpus@3', digest: { sha256: datasetHex }, annotations: { kind: 'dataset' } },
        ],
      },
      runDetails: { builder: { id: BUILDER } },
    },
  };
  const builderSigner = pemSigner(readFileSync(builder.key));
  writeFileSync(join(tmp, 'provenance.json'), JSON.stringify(await signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement)), builderSigner)));
  const reg = await warden('model', 'register', model, '--model', 'tiny-llm', '--version', '1', '--upstream', 'http://127.0.0.1:9/', '--tier', 'onprem', '--region', 'eu', '--tenant', 'acme', '--provenance', join(tmp, 'provenance.json'));
  assert.equal(reg.code, 0, reg.stderr);
  const dep = /^(dep_\w+)/.exec(reg.stdout)![1]!;
  assert.equal((await warden('model', 'verify', model, '--deployment', dep)).code, 0);

  const promote = () => warden('model', 'promote', dep);
  let p = await promote();
  assert.equal(p.code, 1);
  assert.match(p.stderr, /training_data_not_approved: training data: warden-dataset:corpus@3 \(sha256:[0-9a-f]{12}…\) is not a registered dataset/);

  assert.equal((await warden('data', 'source', 'add', 'acme-curation', '--key', source.pub, '--owner', 'ml')).code, 0);
  const dreg = await warden('data', 'register', data);
  assert.equal(dreg.code, 0, dreg.stderr);
  const dsId = /^(ds_\w+)/.exec(dreg.stdout)![1]!;
  p = await promote();
  assert.match(p.stderr, /training_data_not_approved: training data: warden-dataset:corpus@3 is corpus@3 registered, not verified/);
  const show = JSON.parse((await warden('model', 'show', dep, '--json')).stdout);
  assert.deepEqual(show.trainingData.map((s: { dataset: string; ok: boolean }) => [s.dataset, s.ok]), [[dsId, false]]);

  assert.equal((await warden('data', 'verify', data, '--dataset', dsId)).code, 0);
  p = await promote();
  assert.match(p.stderr, /corpus@3 is not approved for tiny-llm \(no allowing trainOn decision\)/);

  const approve = await warden('data', 'train-on', dsId, '--model', 'tiny-llm', '--purpose', 'research');
  assert.equal(approve.code, 0, approve.stderr);
  p = await promote();
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /promoted/);
  const after = JSON.parse((await warden('model', 'show', dep, '--json')).stdout);
  const approval = after.trainingData[0].approval as { purpose: string; policyVersion: string; decidedBy: string; at: number };
  assert.deepEqual(after.trainingData, [{ uri: 'warden-dataset:corpus@3', digest: `sha256:${datasetHex}`, dataset: dsId, state: 'verified', ok: true, reason: null, approval }]);
  assert.equal(approval.purpose, 'research', 'model show names the purpose the approving trainOn decision was asked for');
  assert.ok(approval.policyVersion.length > 0);
  assert.match((await warden('model', 'show', dep)).stdout, /"approval":\{"purpose":"research"/);
  // Lineage from the model back to the source.
  const text = await warden('data', 'lineage', dep);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^model tiny-llm@1 \(dep_\w+\)\n {2}trained on warden-dataset:corpus@3 sha256:[0-9a-f]{12}… {2}approved\n {4}\S+ {2}data\.dataset\.register +source acme-curation -> corpus@3/);
  const mermaid = await warden('data', 'lineage', dep, '--mermaid');
  assert.match(mermaid.stdout, /src_acme_curation -->\|"data\.dataset\.verify [^"]+"\| ds_corpus_3/);
  assert.match(mermaid.stdout, /ds_corpus_3 -->\|"trained \(approved\)"\| model_dep_\w+/);
  const refusals = t.audits().filter((a) => a.action === 'model.promote' && a.errorCode === 'training_data_not_approved');
  assert.equal(refusals.length, 3, 'each refused promotion is in the ledger');
});
