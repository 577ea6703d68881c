// The README walkthrough, end to end, with real processes: warden up, CLI verbs, a restart that keeps state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startWardenProcess, runWarden } from '../helpers/proc.js';

function yamlFor(dataDir: string): string {
  return `dataDir: ${dataDir}\nlisteners:\n  inference: { port: 0 }\n  admin: { port: 0 }\nlog: { level: warn }\n`;
}

test('warden up: first run prints URLs and a one-time admin credential; restart keeps keys', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-e2e-'));
  const dataDir = join(dir, 'data');
  const cfg = join(dir, 'warden.yaml');
  writeFileSync(cfg, yamlFor(dataDir));
  let p = startWardenProcess(['up', '--config', cfg]);
  try {
    const [, infUrl] = await p.waitFor(/inference\s+(https:\/\/127\.0\.0\.1:\d+)\/v1/);
    const [, admUrl] = await p.waitFor(/admin\s+(https:\/\/127\.0\.0\.1:\d+)/);
    const [adminKey] = await p.waitFor(/wdn_[A-Za-z0-9_-]{43}/);
    assert.match(p.output(), /DEMO echo model server/);
    for (const f of ['ca-key.pem', 'server-key.pem']) assert.equal(statSync(join(dataDir, f)).mode & 0o777, 0o600, f);
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    const env = { WARDEN_ADMIN_KEY: adminKey!, WARDEN_ADMIN_URL: admUrl! };
    // As the README has it: alice joins consumers, to whom the starter policies grant the demo models.
    const pc = await runWarden(['principals', 'create', 'alice', '--tenant', 'acme', '--groups', 'consumers', '--data-dir', dataDir], env);
    assert.equal(pc.code, 0, pc.stderr);
    const kc = await runWarden(['keys', 'create', '--principal', 'alice', '--models', 'demo-chat', '--actions', 'chat', '--ttl', '24h', '--data-dir', dataDir], env);
    assert.equal(kc.code, 0, kc.stderr);
    const userKey = kc.stdout.match(/wdn_[A-Za-z0-9_-]{43}/)![0];
    assert.match(kc.stdout, /effective permissions[^\n]*\n {2}model demo-chat: chat\n/);
    assert.doesNotMatch(kc.stderr, /warning/);
    const aliceKeyId = kc.stdout.match(/^(key_\S+)/)![1]!;
    const eff = await runWarden(['keys', 'effective', aliceKeyId, '--data-dir', dataDir], env);
    assert.equal(eff.code, 0, eff.stderr);
    assert.match(eff.stdout, /model demo-chat: chat/);
    assert.doesNotMatch(eff.stdout, /demo-embed/);
    // A principal in no group is granted nothing: even a key scoped to everything can do nothing, and says so.
    const bc = await runWarden(['principals', 'create', 'bob', '--tenant', 'acme', '--data-dir', dataDir], env);
    assert.match(bc.stderr, /no group/);
    const bk = await runWarden(['keys', 'create', '--principal', 'bob', '--models', '*', '--actions', '*', '--data-dir', dataDir], env);
    assert.equal(bk.code, 0, bk.stderr);
    assert.match(bk.stderr, /warning: key key_\S+ can do nothing/);
    assert.match(bk.stdout, /\(none\)/);
    const bobKey = bk.stdout.match(/wdn_[A-Za-z0-9_-]{43}/)![0];
    const noCred = await runWarden(['keys', 'list', '--data-dir', dataDir], { WARDEN_ADMIN_KEY: '', WARDEN_ADMIN_URL: admUrl! });
    assert.equal(noCred.code, 2);
    assert.match(noCred.stderr, /WARDEN_ADMIN_KEY/);

    const agent = new Agent({ connect: { ca: readFileSync(join(dataDir, 'ca.pem'), 'utf8') } });
    const ask = async (base: string, key: string, model: string) => {
      const r = await request(`${base}/v1/chat/completions`, {
        method: 'POST',
        dispatcher: agent,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      });
      await r.body.text();
      return r.statusCode;
    };
    assert.equal(await ask(infUrl!, userKey, 'demo-chat'), 200);
    assert.equal(await ask(infUrl!, userKey, 'demo-embed'), 403);
    assert.equal(await ask(infUrl!, bobKey, 'demo-chat'), 403);

    assert.equal(await p.stop('SIGTERM'), 0);
    p = startWardenProcess(['up', '--config', cfg]);
    const [, infUrl2] = await p.waitFor(/inference\s+(https:\/\/127\.0\.0\.1:\d+)\/v1/);
    assert.doesNotMatch(p.output(), /Bootstrap admin credential/);
    assert.equal(await ask(infUrl2!, userKey, 'demo-chat'), 200);
    await agent.close();
  } finally {
    await p.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('warden up --config with an invalid file exits 2 naming the file, line and path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-e2e-'));
  const cfg = join(dir, 'bad.yaml');
  writeFileSync(cfg, 'listeners:\n  inference:\n    mtls: sometimes\n');
  const r = await runWarden(['up', '--config', cfg]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.yaml:3:11: \/listeners\/inference\/mtls: expected one of "off", "optional", "required"/);
  rmSync(dir, { recursive: true, force: true });
});

test('warden demo-upstream --port N serves the labelled demo models', async () => {
  const p = startWardenProcess(['demo-upstream', '--port', '0']);
  try {
    const [, url] = await p.waitFor(/listening at (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    const r = await request(`${url}/models`);
    const j = (await r.body.json()) as { data: { id: string; owned_by: string }[] };
    assert.ok(j.data.every((m) => /demo/.test(m.owned_by)));
    assert.match(p.output(), /fake echo model, not a real LLM/);
  } finally {
    await p.stop();
  }
  const bad = await runWarden(['demo-upstream', '--port', 'lots']);
  assert.equal(bad.code, 2);
});

test('unknown commands exit 2 with usage', async () => {
  const r = await runWarden(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
});
