// Upstream credentials on a cadence through the real gateway: the secret comes from a file (or a command) that is
// re-read every refreshMs; a rewritten secret is sent from the next request on (a ledger entry with its fingerprint,
// never the secret); a source that cannot be read refuses the start, and at run time takes the upstream out of use
// (503 upstream_credential_unavailable, nothing sent) until it reads again. The upstream is a labelled fake that
// records the Authorization header it receives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestWarden } from '../helpers/warden.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { secretFingerprint } from '../../src/network/upstream-credential.js';

const chat = { model: 'm', messages: [{ role: 'user', content: 'hello' }] };
const ok = (_req: unknown, res: import('node:http').ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }], usage: { total_tokens: 3 } }));
};
const upstream = (url: string, apiKeySource: Record<string, unknown>) => ({ name: 'rotating', baseUrl: url, apiKeySource: { refreshMs: 1000, ...apiKeySource } as never, models: ['m'], connections: 2, connectTimeoutMs: 1000, headersTimeoutMs: 2000, bodyTimeoutMs: 2000 });

async function until(what: () => boolean, label: string): Promise<void> {
  for (let i = 0; i < 80 && !what(); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(what(), label);
}

test('a rewritten secret file is sent from the next request on; an unreadable one stops the upstream until it reads again', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'upcred-'));
  const file = join(dir, 'upstream.key');
  writeFileSync(file, 'sk-one\n', { mode: 0o600 });
  const up = await startFakeUpstream(ok);
  const t = await startTestWarden((c) => {
    c.upstreams = [upstream(up.url, { file })];
  });
  try {
    const { key } = await t.keyFor('u', ['m'], ['chat']);
    const send = () => t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat });
    assert.equal((await send()).status, 200);
    assert.equal(up.requests.at(-1)!.headers.authorization, 'Bearer sk-one');

    writeFileSync(file, 'sk-two\n');
    const rotated = () => t.audits().find((a) => a.action === 'upstream.credential.rotate');
    await until(() => rotated() !== undefined, 'the rotation is recorded');
    const d = rotated()!.details as Record<string, string>;
    assert.deepEqual([d.upstream, d.fingerprint, d.previous], ['rotating', secretFingerprint('sk-two'), secretFingerprint('sk-one')]);
    assert.doesNotMatch(JSON.stringify(t.audits()), /sk-two|sk-one/, 'the secret itself is never in the ledger');
    assert.equal((await send()).status, 200);
    assert.equal(up.requests.at(-1)!.headers.authorization, 'Bearer sk-two');

    // The secret manager withdrew it (an empty file): fail closed, nothing is sent.
    writeFileSync(file, '\n');
    const down = () => t.audits().find((a) => a.action === 'upstream.credential.unavailable');
    await until(() => down() !== undefined, 'the failure is recorded');
    assert.equal(down()!.decision, 'deny');
    const before = up.requests.length;
    const refused = await send();
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.json.error.code, 'upstream_credential_unavailable');
    assert.equal(up.requests.length, before, 'the old secret was not sent');

    writeFileSync(file, 'sk-three\n');
    await until(() => t.audits().some((a) => a.action === 'upstream.credential.rotate' && (a.details as Record<string, string>).fingerprint === secretFingerprint('sk-three')), 'the new secret is taken');
    assert.equal((await send()).status, 200);
    assert.equal(up.requests.at(-1)!.headers.authorization, 'Bearer sk-three');
  } finally {
    await t.stop();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a command source (argv, no shell) gives the secret; a source that cannot be read refuses the start', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'upcred-cmd-'));
  const file = join(dir, 'vault-answer');
  writeFileSync(file, 'sk-from-command\n', { mode: 0o600 });
  const up = await startFakeUpstream(ok);
  try {
    const t = await startTestWarden((c) => {
      c.upstreams = [upstream(up.url, { command: [process.execPath, '-e', `process.stdout.write(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8'))`] })];
    });
    try {
      const { key } = await t.keyFor('u', ['m'], ['chat']);
      assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key, body: chat })).status, 200);
      assert.equal(up.requests.at(-1)!.headers.authorization, 'Bearer sk-from-command');
    } finally {
      await t.stop();
    }
    for (const source of [{ file: join(dir, 'missing.key') }, { command: [process.execPath, '-e', 'process.exit(3)'] }]) {
      await assert.rejects(
        startTestWarden((c) => {
          c.upstreams = [upstream(up.url, source)];
        }),
        /its secret could not be read/,
      );
    }
  } finally {
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
