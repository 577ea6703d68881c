// A backup of a data dir whose ledger key was rotated: the stored checkpoint is signed by the replaced key (no
// batch since an offline rotation without overlap), so the backup's verification and the restore must use the key
// history (ledger-keys.json) that travels in the backup; and a backup whose history was lost is refused.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runWarden } from '../../helpers/proc.js';
import { startTestWarden } from '../../helpers/warden.js';

test('backup verify and restore follow a rotated ledger key through its history; without the history they refuse', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-backup-rot-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  const w = await startTestWarden(() => {}, { dataDir });
  try {
    const { key } = await w.keyFor('ron', ['demo-chat'], ['chat']);
    const r = await w.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }] } });
    assert.equal(r.status, 200, r.text);
  } finally {
    await w.stop();
  }
  const rot = await runWarden(['ledger', 'key', 'rotate', '--offline', '--data-dir', dataDir, '--overlap', '0s']);
  assert.equal(rot.code, 0, rot.stderr);

  const conf = join(dir, 'warden.yaml');
  writeFileSync(conf, `dataDir: ${dataDir}\n`);
  const backupKey = join(dir, 'backup.key');
  assert.equal((await runWarden(['data', 'new-key', backupKey])).code, 0);
  const out = join(dir, 'b.wbk');
  const created = await runWarden(['backup', 'create', '--config', conf, '--key', backupKey, '--out', out]);
  assert.equal(created.code, 0, created.stdout + created.stderr);
  assert.match(created.stdout, /ledger: \d+ entries, checkpoint signature and every leaf verify/);
  const restored = join(dir, 'restored');
  const rs = await runWarden(['backup', 'restore', out, '--key', backupKey, '--data-dir', restored]);
  assert.equal(rs.code, 0, rs.stdout + rs.stderr);
  assert.match(rs.stdout, /the restored ledger verifies/);

  // The same data dir without its key history: the stored checkpoint is signed by a key nothing vouches for.
  unlinkSync(join(dataDir, 'ledger-keys.json'));
  const lost = await runWarden(['backup', 'create', '--config', conf, '--key', backupKey, '--out', join(dir, 'lost.wbk')]);
  assert.notEqual(lost.code, 0);
  assert.match(lost.stderr, /not signed by this ledger key/);
});
