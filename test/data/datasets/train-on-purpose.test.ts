// The purpose a model is trained for, in trainOn's Cedar context, against a real gateway (real TLS, SQLite, ledger,
// PDP) and the real CLI: the starter `no-training-on-personal-data-for-marketing` refuses a personal-data dataset
// for marketing and lets research through; the decision, either way, is in the ledger with the purpose; a training
// token carries the purpose it was issued for to every read, where trainOn is asked again with it.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signDataset } from '../../../src/data/datasets/sign-dataset.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';
import { runWarden } from '../../helpers/proc.js';
import { startTestWarden, type TestWarden } from '../../helpers/warden.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-train-purpose-'));
const pair = generateKeyPairSync('ed25519');
const signer = pemSigner(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);

describe('trainOn with a purpose', () => {
  let t: TestWarden;
  let env: Record<string, string>;
  let pii = '';
  const lastEntry = (action: string) => t.audits().filter((a) => a.action === action).at(-1)!;

  before(async () => {
    t = await startTestWarden();
    env = { WARDEN_ADMIN_URL: t.w.adminUrl, WARDEN_CA: t.w.caPemPath, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_MFA_TOKEN: '' };
    await t.admin('POST', '/admin/v1/data-sources', { id: 'vendor', publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }), owner: 'vendor@acme' });
    // Declared as holding personal data (the category is the signed manifest's); internal, so trainOn is granted in general.
    const dir = join(tmp, 'customers');
    mkdirSync(dir);
    writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 5 }, (_, i) => JSON.stringify({ text: `customer note ${i}`, label: 'x' })).join('\n') + '\n');
    const s = await signDataset(dir, { name: 'customers', version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification: 'internal', categories: ['pii'], retention: 'P30D' }, signer);
    pii = (await t.admin('POST', '/admin/v1/datasets', { signatureBundle: s.bundle })).id as string;
    await t.admin('POST', `/admin/v1/datasets/${pii}/verify`, { path: dir });
  });
  after(async () => {
    await t?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('train-on (CLI): research is allowed, marketing is refused by the starter purpose policy; both in the ledger', async () => {
    const research = await runWarden(['data', 'train-on', pii, '--model', 'tiny-llm', '--purpose', 'research'], env);
    assert.equal(research.code, 0, research.stderr);
    assert.match(research.stdout, /allowed: tiny-llm may train on/);
    const allowed = lastEntry('data.dataset.trainOn');
    assert.equal(allowed.decision, 'allow');
    assert.equal((allowed.details as Record<string, string>).purpose, 'research');

    const marketing = await runWarden(['data', 'train-on', pii, '--model', 'tiny-llm', '--purpose', 'marketing'], env);
    assert.notEqual(marketing.code, 0);
    assert.match(marketing.stderr, /train_on_denied: policy does not let tiny-llm train on customers@1 \(internal\) for marketing/);
    const denied = lastEntry('data.dataset.trainOn');
    assert.equal(denied.decision, 'deny');
    assert.equal((denied.details as Record<string, string>).purpose, 'marketing');
    assert.match(String((denied.details as Record<string, string>).policyIds), /no-training-on-personal-data-for-marketing/);
    // Stored decisions: the deny is the latest for the model (so the promotion gate sees it as not approved).
    const decisions = (await t.admin('GET', `/admin/v1/datasets/${pii}/train-on`)).data as { allow: boolean; purpose: string | null }[];
    assert.deepEqual(decisions.map((d) => [d.allow, d.purpose]), [[true, 'research'], [false, 'marketing']], 'each stored decision keeps the purpose it was asked for');
    // `warden data show` prints them, purpose included (and --json carries them).
    const shown = await runWarden(['data', 'show', pii], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /trainOn +allow tiny-llm \(tenant \S+\) for research by \S+ at \S+, policy set \S+/);
    assert.match(shown.stdout, /trainOn +deny tiny-llm \(tenant \S+\) for marketing by /);
    const json = JSON.parse((await runWarden(['data', 'show', pii, '--json'], env)).stdout) as { id: string; trainOn: { purpose: string | null }[] };
    assert.equal(json.id, pii);
    assert.deepEqual(json.trainOn.map((d) => d.purpose), ['research', 'marketing']);
  });

  test('a training token for marketing is refused, none is issued; a bad purpose is 400', async () => {
    const issues = () => t.audits().filter((a) => a.action === 'data.trainingToken.issue').length;
    const before = issues();
    const r = await t.call('admin', 'POST', '/admin/v1/training-tokens', { key: t.adminKey, body: { model: 'tiny-llm', datasets: [pii], purpose: 'marketing' } });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.code, 'train_on_denied');
    assert.equal(issues(), before, 'no token was issued');
    for (const purpose of ['', 'Marketing!', 'x'.repeat(65), 7]) {
      const bad = await t.call('admin', 'POST', '/admin/v1/training-tokens', { key: t.adminKey, body: { model: 'tiny-llm', datasets: [pii], purpose } });
      assert.equal(bad.status, 400, `${JSON.stringify(purpose)}: ${bad.text}`);
      assert.equal(bad.json.error.code, 'invalid_field');
      const badTrainOn = await t.call('admin', 'POST', `/admin/v1/datasets/${pii}/train-on`, { key: t.adminKey, body: { model: 'tiny-llm', purpose } });
      assert.equal(badTrainOn.status, 400);
    }
  });

  test('the token carries its purpose to every read: a policy published later that forbids it refuses the read', async () => {
    const issued = await runWarden(['data', 'token', pii, '--model', 'tiny-llm', '--purpose', 'research'], env);
    assert.equal(issued.code, 0, issued.stderr);
    const token = issued.stdout.trim();
    assert.equal((lastEntry('data.trainingToken.issue').details as Record<string, string>).purpose, 'research');
    const read = () => t.call('inference', 'GET', `/v1/datasets/${pii}/records?file=train.jsonl&limit=2`, { key: token });
    assert.equal((await read()).status, 200);
    // The starter set plus a forbid of research on personal data: the next read with the research token is refused.
    const dir = join(process.cwd(), 'policies', 'starter');
    const starter = readdirSync(dir).filter((f) => f.endsWith('.cedar')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    const forbid = '\n@id("no-research-on-personal-data")\nforbid (principal, action == Action::"trainOn", resource is Dataset) when { context has purpose && context.purpose == "research" && resource has categories && resource.categories.contains("pii") };\n';
    await t.admin('POST', '/admin/v1/policies', { text: starter + forbid });
    const refused = await read();
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.error.code, 'train_on_denied');
    const entry = lastEntry('data.dataset.read');
    assert.equal(entry.decision, 'deny');
    assert.match(String((entry.details as Record<string, string>).policyIds), /no-research-on-personal-data/);
    // A token issued without a purpose is not caught by a purpose rule (context.purpose is absent).
    const plain = await t.admin('POST', '/admin/v1/training-tokens', { model: 'tiny-llm', datasets: [pii] });
    assert.equal((await t.call('inference', 'GET', `/v1/datasets/${pii}/records?file=train.jsonl&limit=1`, { key: plain.access_token })).status, 200);
  });
});
