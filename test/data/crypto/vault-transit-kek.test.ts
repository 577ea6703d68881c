// The Vault transit KEK provider against a small FAKE of Vault's transit HTTP API (an external service: a labelled
// test server, not Warden code): encrypt/decrypt/rewrap at /v1/<mount>/<op>/<key> with X-Vault-Token, derived keys
// (context), versioned `vault:vN:` ciphertexts. Wrap/unwrap through the keyring; a moved or altered wrapped key is
// refused; rotation in Vault plus rewrap; and fail closed when Vault is unreachable, refuses the token, or answers
// something that is not Vault's JSON; the config accepts the provider and refuses a token in the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VaultTransitKek } from '../../../src/data/crypto/vault-transit-kek.js';
import { Keyring } from '../../../src/data/crypto/keyring.js';
import { openBlob, sealBlob } from '../../../src/data/crypto/index.js';
import { parseConfig } from '../../../src/config/config.js';
import type { WardenError } from '../../../src/core/errors.js';

const TOKEN = 'hvs.test-token';

/** FAKE Vault transit engine (derived AES-256-GCM keys per context, one key per version). */
async function fakeVault(o: { broken?: boolean } = {}) {
  const versions = [randomBytes(32)];
  const derive = (v: number, ctx: Buffer) => createHmac('sha256', versions[v - 1]!).update(ctx).digest();
  const enc = (v: number, ctx: Buffer, pt: Buffer) => {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', derive(v, ctx), iv);
    return `vault:v${v}:` + Buffer.concat([iv, c.update(pt), c.final(), c.getAuthTag()]).toString('base64');
  };
  const dec = (ct: string, ctx: Buffer): Buffer | null => {
    const m = /^vault:v(\d+):(.+)$/.exec(ct);
    if (!m || !versions[Number(m[1]) - 1]) return null;
    const raw = Buffer.from(m[2]!, 'base64');
    try {
      const d = createDecipheriv('aes-256-gcm', derive(Number(m[1]), ctx), raw.subarray(0, 12));
      d.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
    } catch {
      return null;
    }
  };
  const calls: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls.push(`${req.method} ${req.url}`);
      const send = (status: number, json: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      if (o.broken) return res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
      if (req.headers['x-vault-token'] !== TOKEN) return send(403, { errors: ['permission denied'] });
      const m = /^\/v1\/transit\/(encrypt|decrypt|rewrap)\/warden$/.exec(req.url ?? '');
      if (!m || req.method !== 'POST') return send(404, { errors: ['no handler for route'] });
      const b = JSON.parse(body) as { plaintext?: string; ciphertext?: string; context?: string };
      if (!b.context) return send(400, { errors: ['missing \'context\' for key derivation; the key was created using a derived key'] });
      const ctx = Buffer.from(b.context, 'base64');
      if (m[1] === 'encrypt') return send(200, { data: { ciphertext: enc(versions.length, ctx, Buffer.from(b.plaintext ?? '', 'base64')), key_version: versions.length } });
      const pt = dec(b.ciphertext ?? '', ctx);
      if (!pt) return send(400, { errors: ['cipher: message authentication failed'] });
      if (m[1] === 'decrypt') return send(200, { data: { plaintext: pt.toString('base64') } });
      return send(200, { data: { ciphertext: enc(versions.length, ctx, pt), key_version: versions.length } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, rotate: () => versions.push(randomBytes(32)), close: () => new Promise<void>((r) => server.close(() => r())) };
}

const open = (address: string, env: Record<string, string> = { VAULT_TOKEN: TOKEN }) => VaultTransitKek.open({ address, key: 'warden', tokenEnv: 'VAULT_TOKEN', timeoutMs: 1000 }, env);
const unavailable = (e: WardenError) => e.status === 503 && e.code === 'kek_unavailable';
const tampered = (e: WardenError) => e.code === 'envelope_tampered';

test('wraps and unwraps data keys in Vault, bound to the context; the keyring seals through it', async (t) => {
  const vault = await fakeVault();
  t.after(() => vault.close());
  const kek = open(vault.url);
  t.after(() => kek.close());
  assert.equal(kek.id, 'vault-transit:transit/warden');
  const dk = randomBytes(32);
  const wrapped = await kek.wrap(dk, 'data-key:alice');
  assert.match(wrapped.toString(), /^vault:v1:/);
  assert.ok(!wrapped.includes(dk), 'the data key is not in the wrapped form');
  assert.ok((await kek.unwrap(wrapped, 'data-key:alice')).equals(dk));
  await assert.rejects(kek.unwrap(wrapped, 'data-key:mallory'), tampered, 'moved to another record');
  const altered = Buffer.from(wrapped.toString().slice(0, -6) + 'AAAAA=');
  await assert.rejects(kek.unwrap(altered, 'data-key:alice'), tampered);
  await assert.rejects(kek.unwrap(Buffer.from('not vault'), 'data-key:alice'), tampered);

  // Rotation in Vault: old ciphertexts still open; rewrap moves them to the new version without Warden seeing them.
  vault.rotate();
  const moved = await kek.rewrap(wrapped, 'data-key:alice');
  assert.match(moved.toString(), /^vault:v2:/);
  assert.ok((await kek.unwrap(moved, 'data-key:alice')).equals(dk));
  assert.ok((await kek.unwrap(wrapped, 'data-key:alice')).equals(dk));

  const keyring = new Keyring({ kek });
  const sealed = await sealBlob(keyring, 'acme', 'chunk:vs/f#0', Buffer.from('confidential text'));
  assert.equal((await openBlob(keyring, 'chunk:vs/f#0', sealed)).toString(), 'confidential text');
  // `warden data rewrap` (Keyring.rewrap) on a Vault KEK: Vault's rewrap endpoint, never decrypt, so the data key
  // does not reach Warden; a key already at the newest version is left as it is.
  const { key: dataKey, wrapped: underV2 } = await keyring.newDataKey('acme', 'data-key:bob');
  vault.rotate();
  const before = vault.calls.length;
  const rewrapped = await keyring.rewrap(underV2, 'data-key:bob');
  assert.deepEqual(vault.calls.slice(before), ['POST /v1/transit/rewrap/warden']);
  assert.ok(rewrapped && /vault:v3:/.test(rewrapped.toString()));
  assert.ok((await keyring.unwrapDataKey(rewrapped, 'data-key:bob')).key.equals(dataKey));
  assert.equal(await keyring.rewrap(rewrapped, 'data-key:bob'), null, 'already at v3');
  await assert.rejects(keyring.rewrap(rewrapped, 'data-key:mallory'), tampered, 'bound to its record as before');
  assert.ok(vault.calls.every((c) => c.startsWith('POST /v1/transit/')));
});

test('fails closed: Vault unreachable, the token refused, an answer that is not Vault JSON, bad configuration', async (t) => {
  const vault = await fakeVault();
  const wrapped = await open(vault.url).wrap(randomBytes(32), 'ctx');
  const wrongToken = open(vault.url, { VAULT_TOKEN: 'hvs.stolen' });
  t.after(() => wrongToken.close());
  await assert.rejects(wrongToken.wrap(randomBytes(32), 'ctx'), (e: WardenError) => unavailable(e) && /403/.test(e.message));
  await assert.rejects(wrongToken.unwrap(wrapped, 'ctx'), unavailable);
  await vault.close();
  const gone = open(vault.url);
  t.after(() => gone.close());
  await assert.rejects(gone.unwrap(wrapped, 'ctx'), (e: WardenError) => unavailable(e) && /did not answer/.test(e.message));
  await assert.rejects(gone.wrap(randomBytes(32), 'ctx'), unavailable);

  const broken = await fakeVault({ broken: true });
  t.after(() => broken.close());
  const b = open(broken.url);
  t.after(() => b.close());
  await assert.rejects(b.unwrap(wrapped, 'ctx'), (e: WardenError) => unavailable(e) && /without JSON/.test(e.message));

  assert.throws(() => open(vault.url, {}), (e: WardenError) => unavailable(e) && /VAULT_TOKEN is not set/.test(e.message));
  assert.throws(() => open('http://vault.example.com:8200'), /https/);
  assert.throws(() => VaultTransitKek.open({ address: 'https://v', key: '../sys', tokenEnv: 'VAULT_TOKEN' }, { VAULT_TOKEN: TOKEN }), /plain path segments/);
});

test('config: encryption.kek and tenants accept vaultTransit; the token itself is never a config key', () => {
  const c = parseConfig('encryption:\n  tenants:\n    acme: { vaultTransit: { address: "https://vault:8200", key: acme, tokenEnv: ACME_VAULT_TOKEN, caFile: ca.pem } }\n', '/etc/warden/w.yaml');
  assert.deepEqual(c.encryption.tenants.acme, { vaultTransit: { address: 'https://vault:8200', key: 'acme', tokenEnv: 'ACME_VAULT_TOKEN', caFile: '/etc/warden/ca.pem' } });
  assert.throws(() => parseConfig('encryption:\n  kek: { vaultTransit: { address: "https://vault:8200", key: k, tokenEnv: T, token: hvs.x } }\n', 'w.yaml'));
  assert.throws(() => parseConfig('encryption:\n  kek: { vaultTransit: { address: "https://vault:8200", key: k } }\n', 'w.yaml'));
});
