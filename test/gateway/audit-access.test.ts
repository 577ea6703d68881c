// Who may read the ledger over /audit/v1: checkpoints, hash tiles, proofs and keys are public (they reveal
// hashes and sizes only); entry bundles name principals and decisions, so only an admin the PDP allows
// readAudit reads them, unless ledger.publicEntries. The CLI verifiers run as real child processes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runWarden } from '../helpers/proc.js';
import { startTestWarden } from '../helpers/warden.js';

const CHAT = { model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }] };

test('entry bundles need an admin allowed readAudit; the rest of the log stays public; verifiers say what they could check', async () => {
  const t = await startTestWarden();
  const tmp = mkdtempSync(join(tmpdir(), 'warden-audit-access-'));
  try {
    const { key: user } = await t.keyFor('vera', ['demo-chat'], ['chat'], { groups: ['consumers'] });
    const r = await t.call('inference', 'POST', '/v1/chat/completions', { key: user, body: CHAT });
    assert.equal(r.status, 200);
    const receiptFile = join(tmp, 'receipt.jws');
    writeFileSync(receiptFile, String(r.headers['warden-receipt']));

    const cp = await t.call('admin', 'GET', '/audit/v1/checkpoint');
    assert.equal(cp.status, 200);
    const size = Number(cp.text.split('\n')[1]);
    assert.ok(size >= 2);
    const entries = `/audit/v1/tile/entries/000${size < 256 ? `.p/${size}` : ''}`;
    assert.equal((await t.call('admin', 'GET', `/audit/v1/tile/0/000${size < 256 ? `.p/${size}` : ''}`)).status, 200, 'hash tiles are public');
    assert.equal((await t.call('admin', 'GET', '/audit/v1/proof/inclusion?index=0&size=1')).status, 200, 'proofs are public');

    const anon = await t.call('admin', 'GET', entries);
    assert.equal(anon.status, 401);
    assert.equal(anon.json.error.code, 'missing_credentials');
    const notAdmin = await t.call('admin', 'GET', entries, { key: user });
    assert.equal(notAdmin.status, 403);
    const ok = await t.call('admin', 'GET', entries, { key: t.adminKey });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['cache-control'], 'private, no-store');
    assert.match(ok.text, /"principal"/);
    assert.ok(t.audits().some((a) => a.decision === 'deny' && a.action === `GET ${entries}` && a.status === 401), 'the refusal is in the ledger');

    const env = { NODE_EXTRA_CA_CERTS: t.w.caPemPath, WARDEN_ADMIN_KEY: '', WARDEN_MFA_TOKEN: '' };
    const log = `${t.w.adminUrl}/audit/v1`;
    // The receipt holder without credentials: inclusion proven, the entry not compared, and told so.
    const rv = await runWarden(['receipt', 'verify', receiptFile, '--log', log, '--key', t.w.ledgerVerifierKey], env);
    assert.equal(rv.code, 0, rv.stderr);
    assert.match(rv.stdout, /OK: receipt for .* is entry \d+/);
    assert.match(rv.stdout, /NOTE: the log keeps its entries behind admin credentials/);
    const rvAdmin = await runWarden(['receipt', 'verify', receiptFile, '--log', log, '--key', t.w.ledgerVerifierKey], { ...env, WARDEN_ADMIN_KEY: t.adminKey });
    assert.equal(rvAdmin.code, 0, rvAdmin.stderr);
    assert.doesNotMatch(rvAdmin.stdout, /NOTE/);
    // A full audit needs every entry: without credentials it fails and says why; with them it passes.
    const av = await runWarden(['audit', 'verify', '--log', log, '--key', t.w.ledgerVerifierKey], env);
    assert.notEqual(av.code, 0);
    assert.match(av.stderr, /entries_need_credentials|readable by an admin allowed readAudit/);
    const avAdmin = await runWarden(['audit', 'verify', '--log', log, '--key', t.w.ledgerVerifierKey], { ...env, WARDEN_ADMIN_KEY: t.adminKey });
    assert.equal(avAdmin.code, 0, avAdmin.stderr);
    assert.match(avAdmin.stdout, /OK: log .* verified/);
  } finally {
    await t.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('ledger.publicEntries publishes the entries for anyone (an explicit choice)', async () => {
  const t = await startTestWarden((c) => {
    c.ledger.publicEntries = true;
  });
  try {
    await t.keyFor('wes', ['demo-chat'], ['chat']);
    const size = Number((await t.call('admin', 'GET', '/audit/v1/checkpoint')).text.split('\n')[1]);
    const r = await t.call('admin', 'GET', `/audit/v1/tile/entries/000${size < 256 ? `.p/${size}` : ''}`);
    assert.equal(r.status, 200);
  } finally {
    await t.stop();
  }
});
