// The newcomer's path through `warden data` against a real gateway (real TLS, SQLite, ledger), as child
// processes: register a data source, sign a dataset with its key, admit it, verify it on the gateway, see a
// changed record named (locally and by the gateway), and the refusals: unsigned, unknown or retired source,
// a signature by another key, a duplicate version, a non-admin caller. Every change and refusal is audited.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runWarden } from '../../helpers/proc.js';
import { startTestWarden, type TestWarden } from '../../helpers/warden.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-data-e2e-'));

function keypair(name: string, type: 'ed25519' | 'ec' = 'ed25519') {
  const { privateKey, publicKey } = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  writeFileSync(join(tmp, `${name}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(tmp, `${name}.pub`), publicKey.export({ type: 'spki', format: 'pem' }));
  return { key: join(tmp, `${name}.pem`), pub: join(tmp, `${name}.pub`) };
}

function dataset(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 30 }, (_, i) => JSON.stringify({ text: `ticket ${i} about billing`, label: i % 2 ? 'billing' : 'other' })).join('\n') + '\n');
  writeFileSync(join(dir, 'features.csv'), 'id,amount\n' + Array.from({ length: 10 }, (_, i) => `${i},${i * 3.5}`).join('\n') + '\n');
  return dir;
}

describe('warden data: sources, signed datasets, verification, refusals', () => {
  let t: TestWarden;
  let env: Record<string, string>;
  const data = (...args: string[]) => runWarden(['data', ...args], env);
  const labeling = keypair('labeling', 'ec');
  const stranger = keypair('stranger');
  const signArgs = (dir: string, key: string, source: string, version: string) => [
    'sign', dir, '--key', key, '--name', 'tickets', '--version', version, '--source', source, '--owner', 'support-data', '--licence', 'proprietary',
    '--classification', 'internal', '--categories', 'pii', '--retention', 'P365D',
  ];

  before(async () => {
    t = await startTestWarden();
    env = { WARDEN_ADMIN_URL: t.w.adminUrl, WARDEN_CA: t.w.caPemPath, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_MFA_TOKEN: '' };
  });
  after(async () => {
    await t?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('register a source, sign, admit, verify on the gateway; a flipped label is named by record', async () => {
    const add = await data('source', 'add', 'labeling-vendor', '--key', labeling.pub, '--owner', 'vendor@acme');
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /labeling-vendor {2}active +ecdsa-p256 {2}key:sha256:[0-9a-f]{64}/);
    const dir = dataset('tickets-v1');
    const s = await data(...signArgs(dir, labeling.key, 'labeling-vendor', '1'));
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /signed 2 file\(s\), 41 record\(s\)/);
    const local = await data('verify', dir, '--key', labeling.pub);
    assert.equal(local.code, 0, local.stderr);
    const reg = await data('register', dir);
    assert.equal(reg.code, 0, reg.stderr);
    const id = /^(ds_\w+)/.exec(reg.stdout)![1]!;
    assert.match(reg.stdout, /tickets@1 {2}registered/);

    // Tamper: one label flipped. Local verify and the gateway name the record; the gateway refuses (ledger).
    const f = join(dir, 'train.jsonl');
    const orig = readFileSync(f, 'utf8');
    writeFileSync(f, orig.replace('{"text":"ticket 11 about billing","label":"billing"}', '{"text":"ticket 11 about billing","label":"other"}'));
    const bad = await data('verify', dir, '--key', labeling.pub);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /changed: train\.jsonl/);
    assert.match(bad.stderr, /record: train\.jsonl record 11 changed \(line 12\)/);
    const gwBad = await data('verify', dir, '--dataset', id);
    assert.equal(gwBad.code, 1);
    assert.match(gwBad.stderr, /dataset_manifest_mismatch: .*train\.jsonl record 11 changed \(line 12\)/);
    const refused = t.audits().find((a) => a.action === 'data.dataset.verify' && a.decision === 'deny');
    assert.ok(refused, 'the refused verification is in the ledger');
    assert.equal((refused.details as Record<string, string>).records, 'train.jsonl record 11 changed (line 12)');
    assert.equal((await t.admin('GET', `/admin/v1/datasets/${id}`)).state, 'registered');

    writeFileSync(f, orig);
    const ok = await data('verify', dir, '--dataset', id);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /tickets@1 {2}verified/);
    const shown = await data('show', id, '--json');
    const rec = JSON.parse(shown.stdout);
    assert.equal(rec.sourceId, 'labeling-vendor');
    assert.equal(rec.classification, 'internal');
    assert.deepEqual(rec.categories, ['pii']);
    assert.equal(rec.retention, 'P365D');
    assert.equal(rec.records, 41);
    assert.deepEqual(rec.verification, { files: 2, bytes: rec.verification.bytes, records: 41, classificationScan: { implied: 'public', found: {}, scanned: 40 }, path: dir });
    assert.match((await data('list', '--state', 'verified')).stdout, new RegExp(`${id} {2}tickets@1 {2}verified`));
    const entries = t.audits().filter((a) => String(a.action).startsWith('data.') && a.decision === 'allow').map((a) => a.action);
    assert.deepEqual(entries, ['data.source.register', 'data.dataset.register', 'data.dataset.verify']);

    // Lineage: one OpenLineage RunEvent per change (the refused verification a FAIL), each chained into the ledger by its digest.
    const lin = await data('lineage', id, '--json');
    assert.equal(lin.code, 0, lin.stderr);
    const events = JSON.parse(lin.stdout) as { digest: string; event: { eventType: string; job: { name: string }; inputs: { name: string }[]; outputs: { name: string }[]; schemaURL: string } }[];
    assert.deepEqual(events.map((e) => `${e.event.eventType} ${e.event.job.name}`), ['COMPLETE data.dataset.register', 'FAIL data.dataset.verify', 'COMPLETE data.dataset.verify']);
    assert.deepEqual(events[0]!.event.inputs.map((i) => i.name), ['labeling-vendor']);
    assert.deepEqual(events[0]!.event.outputs.map((o) => o.name), ['tickets@1']);
    assert.match(events[0]!.event.schemaURL, /openlineage\.io\/spec\/.*RunEvent/);
    const ledgerDigests = t.audits().filter((a) => a.resource && (a.resource as { id: string }).id === id).map((a) => (a.details as Record<string, string>).lineageEvent);
    assert.deepEqual(ledgerDigests, events.map((e) => e.digest));
    const { lineageDigest } = await import('../../../src/data/lineage/openlineage.js');
    for (const e of events) assert.equal(lineageDigest(e.event as never), e.digest, 'the stored event is the one the ledger entry names');
    const mermaid = await data('lineage', id, '--mermaid');
    assert.match(mermaid.stdout, /^flowchart LR\n {2}src_labeling_vendor\[\("source labeling-vendor"\)\]\n {2}ds_tickets_1\["dataset tickets@1"\]/);
    assert.match(mermaid.stdout, /src_labeling_vendor -->\|"data\.dataset\.verify [^"]+"\| ds_tickets_1/);
    assert.match((await data('lineage', id)).stdout, /data\.dataset\.register +source labeling-vendor -> tickets@1 \(registered, sha256:/);

    // trainOn: the starter policy lets a model train on an internal dataset; the decision is in the ledger.
    const allowed = await data('train-on', id, '--model', 'tiny-llm', '--family', 'llama');
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /allowed: tiny-llm may train on ds_\w+ \(policies models-train-on-public-and-internal-data; policy set sha256:/);
    const trainEntry = t.audits().filter((a) => a.action === 'data.dataset.trainOn').at(-1)!;
    assert.equal(trainEntry.decision, 'allow');
    assert.equal((trainEntry.details as Record<string, string>).model, 'tiny-llm');
    assert.equal((trainEntry.details as Record<string, string>).policyIds, 'models-train-on-public-and-internal-data');
    assert.deepEqual((await t.admin('GET', `/admin/v1/datasets/${id}/train-on`)).data.map((d: { model: string; allow: boolean }) => [d.model, d.allow]), [['tiny-llm', true]]);

    // The same version again is refused: versions are immutable.
    const again = await data('register', dir);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /dataset_version_exists/);
    const ret = await data('retire', id);
    assert.equal(ret.code, 0, ret.stderr);
    assert.match(ret.stdout, /retired/);
    assert.match((await data('retire', id)).stderr, /invalid_transition/);
  });

  test('unsigned, unknown-source, wrong-key and retired-source datasets are refused and audited', async () => {
    const unsigned = await t.call('admin', 'POST', '/admin/v1/datasets', { key: t.adminKey, body: {} });
    assert.equal(unsigned.status, 403);
    assert.equal(unsigned.json.error.code, 'dataset_unsigned');

    const dir = dataset('tickets-unknown');
    assert.equal((await data(...signArgs(dir, stranger.key, 'nobody-registered-this', '2'))).code, 0);
    const unknown = await data('register', dir);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /untrusted_data_source: data source nobody-registered-this is not registered/);

    // Claims to be the registered vendor but is signed by another key.
    const forged = dataset('tickets-forged');
    assert.equal((await data(...signArgs(forged, stranger.key, 'labeling-vendor', '3'))).code, 0);
    const wrongKey = await data('register', forged);
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /untrusted_data_source: the manifest is not signed by data source labeling-vendor's key/);

    assert.equal((await data('source', 'add', 'short-lived', '--key', stranger.pub, '--owner', 'x')).code, 0);
    assert.equal((await data('source', 'retire', 'short-lived')).code, 0);
    const retiredDir = dataset('tickets-retired');
    assert.equal((await data(...signArgs(retiredDir, stranger.key, 'short-lived', '4'))).code, 0);
    assert.match((await data('register', retiredDir)).stderr, /untrusted_data_source: data source short-lived is retired/);
    assert.match((await data('source', 'add', 'short-lived', '--key', stranger.pub, '--owner', 'x')).stderr, /data_source_exists/);

    const denials = t.audits().filter((a) => a.action === 'data.dataset.register' && a.decision === 'deny').map((a) => a.errorCode);
    assert.deepEqual(denials, ['dataset_version_exists', 'dataset_unsigned', 'untrusted_data_source', 'untrusted_data_source', 'untrusted_data_source']);
    assert.deepEqual((await t.admin('GET', '/admin/v1/datasets')).data.map((d: { version: string }) => d.version), ['1']);
  });

  test('declared and checked: a dataset signed as public that holds card numbers is refused at verification, named and audited', async () => {
    const dir = dataset('tickets-cards');
    writeFileSync(join(dir, 'train.jsonl'), readFileSync(join(dir, 'train.jsonl'), 'utf8') + JSON.stringify({ text: 'refund to card 4111 1111 1111 1111 please', label: 'billing' }) + '\n');
    const sign = await data('sign', dir, '--key', labeling.key, '--name', 'tickets-public', '--version', '1', '--source', 'labeling-vendor', '--owner', 'o', '--licence', 'CC0-1.0', '--classification', 'public');
    assert.equal(sign.code, 0, sign.stderr);
    const reg = await data('register', dir);
    assert.equal(reg.code, 0, reg.stderr);
    const id = /^(ds_\w+)/.exec(reg.stdout)![1]!;
    const v = await data('verify', dir, '--dataset', id);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /dataset_classification_mismatch: declared public but the records hold credit_card \(confidential\); undeclared data categories: financial/);
    const entry = t.audits().filter((a) => a.action === 'data.dataset.verify' && a.errorCode === 'dataset_classification_mismatch').at(-1);
    assert.ok(entry);
    assert.equal((entry.details as Record<string, string>).records, 'train.jsonl record 30');
    assert.equal((await t.admin('GET', `/admin/v1/datasets/${id}`)).state, 'registered');
    // An unverified dataset cannot be approved for training.
    const unverified = await data('train-on', id, '--model', 'tiny-llm');
    assert.equal(unverified.code, 1);
    assert.match(unverified.stderr, /invalid_transition: dataset ds_\w+ is registered; cannot approve training on it/);
  });

  test('trainOn denies a confidential dataset to a model no policy names, and records the denial', async () => {
    const dir = dataset('tickets-confidential');
    const s = await data('sign', dir, '--key', labeling.key, '--name', 'tickets-conf', '--version', '1', '--source', 'labeling-vendor', '--owner', 'o', '--licence', 'proprietary', '--classification', 'confidential', '--categories', 'pii');
    assert.equal(s.code, 0, s.stderr);
    const id = /^(ds_\w+)/.exec((await data('register', dir)).stdout)![1]!;
    assert.equal((await data('verify', dir, '--dataset', id)).code, 0);
    const denied = await data('train-on', id, '--model', 'tiny-llm');
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /train_on_denied: policy does not let tiny-llm train on tickets-conf@1 \(confidential\)/);
    const entry = t.audits().filter((a) => a.action === 'data.dataset.trainOn').at(-1)!;
    assert.equal(entry.decision, 'deny');
    assert.equal(entry.errorCode, 'train_on_denied');
    assert.deepEqual((await t.admin('GET', `/admin/v1/datasets/${id}/train-on`)).data.map((d: { allow: boolean }) => d.allow), [false]);
  });

  test('bad input is a clear 400/404, and a caller without manageDatasets is refused by the PDP', async () => {
    const notAbs = await t.call('admin', 'POST', '/admin/v1/datasets/ds_x/verify', { key: t.adminKey, body: { path: 'relative/dir' } });
    assert.equal(notAbs.status, 400);
    assert.equal(notAbs.json.error.code, 'invalid_field');
    assert.equal((await t.call('admin', 'GET', '/admin/v1/datasets/ds_nope', { key: t.adminKey })).json.error.code, 'dataset_not_found');
    assert.equal((await t.call('admin', 'GET', '/admin/v1/datasets?state=weird', { key: t.adminKey })).status, 400);
    const badKey = await t.call('admin', 'POST', '/admin/v1/data-sources', { key: t.adminKey, body: { id: 'rsa-source', publicKey: 'not a key', owner: 'x' } });
    assert.equal(badKey.status, 400);
    assert.equal(badKey.json.error.code, 'unsupported_key_type');
    const garbage = await t.call('admin', 'POST', '/admin/v1/datasets', { key: t.adminKey, body: { signatureBundle: { mediaType: 'nope' } } });
    assert.equal(garbage.status, 400);
    assert.equal(garbage.json.error.code, 'signature_bundle_malformed');
    const { key: carl } = await t.keyFor('carl', ['*'], ['chat']);
    const denied = await t.call('admin', 'POST', '/admin/v1/data-sources', { key: carl, body: { id: 'x', publicKey: readFileSync(stranger.pub, 'utf8'), owner: 'x' } });
    assert.equal(denied.status, 403);
    assert.equal((await t.call('admin', 'GET', '/admin/v1/data-sources/short-lived', { key: t.adminKey })).json.retiredAt !== null, true);
  });
});
