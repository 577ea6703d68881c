// Issue 6's "done when", as a newcomer does it with nothing but `warden up`'s bootstrap credential and the CLI:
// sign a model directory, register, verify and promote it, see the gateway route to it; change one byte and see
// verification and promotion refuse it; every step in the ledger. The starter policies keep promotion for
// model admins with MFA, so a lab without an identity provider publishes one extra policy for the bootstrap
// credential (the one docs/models.md shows). The model server is a FAKE external upstream.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { runWarden } from '../helpers/proc.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-newcomer-'));
let t: TestWarden | undefined;
let upstream: FakeUpstream | undefined;
after(async () => {
  await t?.stop();
  await upstream?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const LAB_PROMOTION_POLICY = `@id("lab-bootstrap-promotes")
permit (principal == User::"admin", action == Action::"promoteModel", resource)
when { context.authn.method == "bootstrap" };`;

test('sign → register → verify → promote → routed with the CLI; one changed byte is refused; all in the ledger', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(tmp, 'signing.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(tmp, 'signing.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  const model = join(tmp, 'tiny-llm');
  mkdirSync(model);
  writeFileSync(join(model, 'config.json'), '{"model_type":"llama"}');
  const header = Buffer.from('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(join(model, 'model.safetensors'), Buffer.concat([len, header, Buffer.alloc(16)]));

  let served = '';
  upstream = await startFakeUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-model-artifact-digest': served });
    res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hello from tiny-llm' } }], usage: { total_tokens: 3 } }));
  });
  t = await startTestWarden((c) => {
    c.workload.trustedSigners = [join(tmp, 'signing.pub')];
    c.models = { 'tiny-llm': { grantees: ['consumers'] } };
  });
  const starter = join(process.cwd(), 'policies/starter');
  await t.admin('POST', '/admin/v1/policies', {
    text: [...readdirSync(starter).filter((f) => f.endsWith('.cedar')).map((f) => readFileSync(join(starter, f), 'utf8')), LAB_PROMOTION_POLICY].join('\n'),
  });
  const env = { WARDEN_ADMIN_URL: t.w.adminUrl, WARDEN_CA: t.w.caPemPath, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_MFA_TOKEN: '' };
  const warden = (...args: string[]) => runWarden(['model', ...args], env);
  const { key: alice } = await t.keyFor('alice', ['*'], ['chat'], { groups: ['consumers'] });
  const chat = () => t!.call('inference', 'POST', '/v1/chat/completions', { key: alice, body: { model: 'tiny-llm', messages: [{ role: 'user', content: 'hi' }] } });

  const sign = await warden('sign', model, '--key', join(tmp, 'signing.pem'));
  assert.equal(sign.code, 0, sign.stderr);
  served = /model digest (sha256:[0-9a-f]{64})/.exec(sign.stdout)![1]!;
  const reg = await warden('register', model, '--model', 'tiny-llm', '--version', '1', '--upstream', upstream.url, '--tier', 'onprem', '--region', 'eu-west-1', '--tenant', 'acme');
  assert.equal(reg.code, 0, reg.stderr);
  const id = /^(dep_\w+)/.exec(reg.stdout)![1]!;
  assert.equal((await chat()).status, 503, 'registered is not routable');
  const v = await warden('verify', model, '--key', join(tmp, 'signing.pub'), '--deployment', id);
  assert.equal(v.code, 0, v.stderr);
  const p = await warden('promote', id);
  assert.equal(p.code, 0, p.stderr);
  const r = await chat();
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.choices[0].message.content, 'hello from tiny-llm');

  // One changed byte: the local check names the file; version 2 (same signature, changed file) is refused
  // by the gateway's verification and therefore cannot be promoted; version 1 keeps serving.
  const f = join(model, 'model.safetensors');
  const bytes = readFileSync(f);
  bytes[bytes.length - 1] = 1;
  writeFileSync(f, bytes);
  const local = await warden('verify', model, '--key', join(tmp, 'signing.pub'));
  assert.equal(local.code, 1);
  assert.match(local.stderr, /changed: model\.safetensors/);
  const reg2 = await warden('register', model, '--model', 'tiny-llm', '--version', '2', '--upstream', upstream.url, '--tier', 'onprem', '--region', 'eu-west-1', '--tenant', 'acme');
  assert.equal(reg2.code, 0, reg2.stderr);
  const id2 = /^(dep_\w+)/.exec(reg2.stdout)![1]!;
  // Without --key the CLI skips its local check and the gateway's verification refuses, naming the file.
  const v2 = await warden('verify', model, '--deployment', id2);
  assert.equal(v2.code, 1);
  assert.match(v2.stderr, /model\.safetensors/);
  const p2 = await warden('promote', id2);
  assert.equal(p2.code, 1);
  assert.match(p2.stderr, /invalid_transition/);
  assert.equal((await chat()).status, 200);

  const trail = t.audits().filter((e) => String(e.action).startsWith('model.')).map((e) => `${e.action}:${e.decision}`);
  assert.deepEqual(trail, ['model.register:allow', 'model.verify:allow', 'model.promote:allow', 'model.register:allow', 'model.verify:deny', 'model.promote:deny']);
  assert.ok(t.audits().filter((e) => String(e.action).startsWith('model.')).every((e) => (e.principal as { authn?: string }).authn === 'bootstrap'));
});
