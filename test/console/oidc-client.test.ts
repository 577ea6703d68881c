// The console's OIDC client against the test IdP: discovery checks, and the bound on sign-ins under way
// (/console/auth/oidc/start needs no credential, so its state must not grow without limit), kept in the
// console's store (an in-memory SQLite here).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OidcClient } from '../../src/console/oidc-client.js';
import { WardenError } from '../../src/core/errors.js';
import { PendingSignIns } from '../../src/console/pending-sign-ins.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqliteConsoleSessionStore } from '../../src/store/console-sessions-store.js';
import { startTestOidcIdp } from '../helpers/oidc-idp.js';

const pending = (max?: number) => new PendingSignIns(new SqliteConsoleSessionStore(openSqlite(':memory:')), Date.now, max);

test('sign-ins under way are bounded: beyond the limit /start is a 429, not an eviction of the others', async () => {
  const idp = await startTestOidcIdp();
  const c = new OidcClient({ issuer: idp.issuer, clientId: idp.clientId, clientSecret: undefined, scopes: ['openid'], caPem: idp.caPem }, pending(2));
  try {
    const a = await c.start(false, 'https://localhost:1/console/auth/oidc/callback');
    await c.start(false, 'https://localhost:1/console/auth/oidc/callback');
    await assert.rejects(c.start(false, 'https://localhost:1/console/auth/oidc/callback'), (e: unknown) => e instanceof WardenError && e.status === 429 && e.code === 'oidc_sign_ins_busy');
    const u = new URL(a.url);
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(u.searchParams.get('state'), a.state);
    // The first sign-in is still there: its state is known (a bad one would be oidc_state_unknown).
    await assert.rejects(c.finish(new URLSearchParams({ state: a.state, error: 'access_denied' }), a.state), (e: unknown) => e instanceof WardenError && e.code === 'oidc_error');
  } finally {
    c.close();
    idp.close();
  }
});

test('discovery naming another issuer is refused (the metadata must be the configured issuer\'s)', async () => {
  const idp = await startTestOidcIdp();
  const c = new OidcClient({ issuer: idp.issuer + '/', clientId: idp.clientId, clientSecret: undefined, scopes: ['openid'], caPem: idp.caPem }, pending());
  try {
    await assert.rejects(c.start(false, 'https://localhost:1/cb'), (e: unknown) => e instanceof WardenError && e.code === 'oidc_discovery_failed');
  } finally {
    c.close();
    idp.close();
  }
});
