// The ledger key rotated through a running Warden (admin API and CLI) and offline on a stopped one: the rotation
// is a ledger entry, /audit/v1/keys publishes the old key beside the new, receipts issued before and after
// verify with the key list `warden ledger key list --vkeys` prints (and not with the old key alone once the
// overlap is over), the audit verifier follows the log across keys, and a restart resumes the log. The CLI runs
// as real child processes; every refusal is provoked.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseNote } from '../../src/ledger/note.js';
import { runWarden } from '../helpers/proc.js';
import { startTestWarden } from '../helpers/warden.js';

const CHAT = { model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }] };

function receiptCheckpointSigners(receipt: string): number {
  // v2 receipt: base64url JSON carrying the checkpoint note.
  const wire = JSON.parse(Buffer.from(receipt.split('.').at(-1)!, 'base64url').toString('utf8')) as { checkpoint: string };
  return parseNote(wire.checkpoint).signatures.length;
}

test('rotate through the admin API and the CLI; receipts and the audit verify across keys; refusals; restart; offline rotation', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-ledger-rotate-'));
  const tmp = mkdtempSync(join(tmpdir(), 'warden-ledger-rotate-files-'));
  let t = await startTestWarden(() => {}, { dataDir });
  try {
    const { key: user } = await t.keyFor('rita', ['demo-chat'], ['chat']);
    const r1 = await t.call('inference', 'POST', '/v1/chat/completions', { key: user, body: CHAT });
    assert.equal(r1.status, 200);
    const receipt1 = join(tmp, 'r1');
    writeFileSync(receipt1, String(r1.headers['warden-receipt']));
    const oldKey = t.w.ledgerVerifierKey;

    // Refusals: not an admin; bad input. None changes the key.
    const denied = await t.call('admin', 'POST', '/admin/v1/ledger/key/rotate', { key: user, body: {} });
    assert.equal(denied.status, 403);
    const badOverlap = await t.call('admin', 'POST', '/admin/v1/ledger/key/rotate', { key: t.adminKey, body: { overlap: 'soon' } });
    assert.equal(badOverlap.status, 400);
    assert.equal(badOverlap.json.error.code, 'invalid_duration');
    const unknown = await t.call('admin', 'POST', '/admin/v1/ledger/key/rotate', { key: t.adminKey, body: { algorithm: 'rsa' } });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json.error.code, 'invalid_field');
    assert.match(unknown.json.error.message, /algorithm/);
    const notJson = await t.call('admin', 'POST', '/admin/v1/ledger/key/rotate', { key: t.adminKey, body: '{' });
    assert.equal(notJson.status, 400);
    assert.equal(t.w.ledgerVerifierKey, oldKey);

    // Through the CLI (a child process with the admin credential), no overlap.
    const env = { NODE_EXTRA_CA_CERTS: t.w.caPemPath, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_MFA_TOKEN: '' };
    const rot = await runWarden(['ledger', 'key', 'rotate', '--overlap', '0s', '--reason', 'test rotation', '--data-dir', dataDir, '--admin-url', t.w.adminUrl], env);
    assert.equal(rot.code, 0, rot.stderr);
    assert.match(rot.stdout, /rotated: the ledger key is now /);
    const newKey = t.w.ledgerVerifierKey;
    assert.notEqual(newKey, oldKey);
    const entry = t.audits().find((a) => a.action === 'ledger.key.rotate');
    assert.ok(entry, 'the rotation is in the ledger');
    assert.equal((entry.details as Record<string, unknown>).previous, oldKey);
    assert.equal((entry.details as Record<string, unknown>).reason, 'test rotation');

    // The keys document: the new key on top, the old one retired (no overlap), both in the JWK Set.
    const keys = await t.call('admin', 'GET', '/audit/v1/keys');
    assert.equal(keys.status, 200);
    assert.equal(keys.json.vkey, newKey);
    assert.equal(keys.json.keys.length, 2);
    assert.deepEqual(keys.json.history.map((h: { status: string; vkey: string }) => [h.status, h.vkey]), [['current', newKey], ['retired', oldKey]]);

    const r2 = await t.call('inference', 'POST', '/v1/chat/completions', { key: user, body: CHAT });
    assert.equal(r2.status, 200);
    assert.equal(receiptCheckpointSigners(String(r2.headers['warden-receipt'])), 1);
    const receipt2 = join(tmp, 'r2');
    writeFileSync(receipt2, String(r2.headers['warden-receipt']));

    const list = await runWarden(['ledger', 'key', 'list', '--vkeys', '--data-dir', dataDir, '--admin-url', t.w.adminUrl], env);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(list.stdout.trim().split('\n'), [newKey, oldKey]);
    const keysFile = join(tmp, 'keys.txt');
    writeFileSync(keysFile, list.stdout);

    const log = `${t.w.adminUrl}/audit/v1`;
    // A receipt from before the rotation against today's log: the old key alone cannot open the log's
    // latest checkpoint (only the new key signed it); the key list can.
    const oldOnly = await runWarden(['receipt', 'verify', receipt1, '--log', log, '--key', oldKey], env);
    assert.notEqual(oldOnly.code, 0);
    assert.match(oldOnly.stderr, /no signature from a trusted key/);
    for (const receipt of [receipt1, receipt2]) {
      const ok = await runWarden(['receipt', 'verify', receipt, '--log', log, '--key', keysFile], env);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /OK: receipt for .* is entry \d+/);
    }
    const audit = await runWarden(['audit', 'verify', '--log', log, '--key', newKey, '--key', oldKey], env);
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /OK: log .* verified/);

    // A restart resumes the log under the new key.
    await t.stop();
    t = await startTestWarden(() => {}, { dataDir });
    assert.equal(t.w.ledgerVerifierKey, newKey);
    await t.stop();

    // Offline, on the stopped Warden's data dir, with an overlap: the next start co-signs with the old key.
    const offlineNoDir = await runWarden(['ledger', 'key', 'rotate', '--offline'], {});
    assert.equal(offlineNoDir.code, 2);
    assert.match(offlineNoDir.stderr, /--offline needs --data-dir/);
    const offline = await runWarden(['ledger', 'key', 'rotate', '--offline', '--data-dir', dataDir, '--overlap', '1d'], {});
    assert.equal(offline.code, 0, offline.stderr);
    t = await startTestWarden(() => {}, { dataDir });
    assert.notEqual(t.w.ledgerVerifierKey, newKey);
    // The identity store outlives the restarts: the same key still works.
    const r3 = await t.call('inference', 'POST', '/v1/chat/completions', { key: user, body: CHAT });
    assert.equal(r3.status, 200);
    assert.equal(receiptCheckpointSigners(String(r3.headers['warden-receipt'])), 2, 'the replaced key co-signs during its overlap');
    const history = (await t.call('admin', 'GET', '/audit/v1/keys')).json.history as { status: string }[];
    assert.deepEqual(history.map((h) => h.status), ['current', 'cosigning', 'retired']);
  } finally {
    await t.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('ledger.previousKeys beside a key file is refused at start: a key file records the keys it replaced itself', async () => {
  const vkey = 'warden.local/audit+01234567+AZcvLHJcu0hjmTzXfeo5v1McmyqD9MF7e8CihkWah9/I';
  await assert.rejects(
    startTestWarden((c) => {
      c.ledger.previousKeys = [vkey];
    }),
    /ledger\.previousKeys applies to a ledger\.signingKey in a PKCS#11 token/,
  );
});
