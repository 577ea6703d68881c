// `warden data rewrap` with store.postgres: the shared tables' data keys (payload keys, model keys) move to the
// new platform KEK, after which they open without the old one; the sealed payloads are not re-encrypted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixedClock } from '../../../src/core/clock.js';
import { createKeyFile, keyringFromConfig, parseWrappedKey, LocalFileKek } from '../../../src/data/crypto/index.js';
import { PayloadVault } from '../../../src/ledger/retention.js';
import { platformSeedSeal, PostgresModelKeyStore, PostgresPayloadStore, PostgresToolCredentialKeyStore } from '../../../src/store/sealed-postgres.js';
import { PLATFORM_TENANT } from '../../../src/core/tenant.js';
import { generateKeyPairSync } from 'node:crypto';
import { ed25519Kid } from '../../../src/tools/credential-keys.js';
import { unwrapModelKey, wrapModelKey } from '../../../src/workload/key-release-envelope.js';
import { dropPgPrefix, PG_URL } from '../../helpers/cluster.js';
import { requireService } from '../../helpers/services.js';
import { runWarden } from '../../helpers/proc.js';

test('warden data rewrap on store.postgres moves the shared data keys to the new KEK', { timeout: 60_000 }, async (t) => {
  const skip = await requireService('postgres');
  if (skip) return t.skip(skip);
  const dir = mkdtempSync(join(tmpdir(), 'warden-rewrap-pg-'));
  const prefix = `trw_${randomBytes(4).toString('hex')}_`;
  const o = { connectionString: PG_URL, prefix };
  const payloads = await PostgresPayloadStore.connect(o);
  const models = await PostgresModelKeyStore.connect(o);
  const toolKeys = await PostgresToolCredentialKeyStore.connect(o);
  t.after(async () => {
    await payloads.close();
    await models.close();
    await toolKeys.close();
    await dropPgPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  });
  const [old, next] = [join(dir, 'kek-1.bin'), join(dir, 'kek-2.bin')];
  createKeyFile(old);
  createKeyFile(next);
  const before = keyringFromConfig({ dataDir: dir, encryption: { kek: { file: old }, previous: [], tenants: {} } });
  const modelKey = randomBytes(32);
  await new PayloadVault(payloads, before, new FixedClock(1)).put({ id: 'alice', tenant: 'acme' }, 'req-1', 'request', Buffer.from('kept prompt'));
  await models.put('dep_1', await wrapModelKey(before, { keyId: 'mk_1', modelId: 'm', tenant: 'acme' }, modelKey), 1);
  // A tool-credential signing key shared by the replicas, its seed wrapped under the old KEK.
  const toolKey = generateKeyPairSync('ed25519').privateKey;
  const kid = ed25519Kid(toolKey);
  await toolKeys.sealWith(platformSeedSeal(before, PLATFORM_TENANT)).exclusive((tx) => tx.add({ kid, activeFrom: 1, key: toolKey }), { wait: true });
  before.close();
  const ciphertext = Buffer.from((await payloads.getPayload('req-1', 'request'))!.ciphertext);

  const conf = join(dir, 'warden.yaml');
  writeFileSync(conf, `dataDir: ${join(dir, 'data')}\nstore:\n  postgres: { connectionString: "${PG_URL}", prefix: ${prefix} }\nencryption:\n  kek: { file: ${next} }\n  previous:\n    - { file: ${old} }\n`);
  const r = await runWarden(['data', 'rewrap', '--config', conf]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^rewrapped: 1 payload data key\(s\), 1 model key\(s\)$/m);
  assert.match(r.stdout, /^rewrapped: 1 tool credential key\(s\)$/m);
  assert.equal(parseWrappedKey((await payloads.wrappedKey('alice'))!)!.kekId, LocalFileKek.open(next).id);
  assert.ok(Buffer.from((await payloads.getPayload('req-1', 'request'))!.ciphertext).equals(ciphertext), 'the sealed payload is untouched');
  const after = keyringFromConfig({ dataDir: dir, encryption: { kek: { file: next }, previous: [], tenants: {} } });
  t.after(() => after.close());
  assert.equal((await new PayloadVault(payloads, after, new FixedClock(2)).get('alice', 'req-1', 'request')).toString(), 'kept prompt');
  assert.ok((await unwrapModelKey(after, (await models.get('dep_1'))!)).equals(modelKey), 'opens without the old KEK');
  const opened = await toolKeys.sealWith(platformSeedSeal(after, PLATFORM_TENANT)).list();
  assert.deepEqual(opened.map((k) => k.kid), [kid], 'the tool credential key opens without the old KEK');
  assert.equal(ed25519Kid(opened[0]!.key), kid);
  const again = await runWarden(['data', 'rewrap', '--config', conf]);
  assert.match(again.stdout, /^rewrapped: 0 payload data key\(s\), 0 model key\(s\)$/m);
  assert.match(again.stdout, /^rewrapped: 0 tool credential key\(s\)$/m);
});
