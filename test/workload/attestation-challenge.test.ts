// The unauthenticated attestation endpoints: stateless challenges (a MAC binds nonce, deployment and expiry)
// and the bounded per-source rate limit in front of them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { RateLimited } from '../../src/core/errors.js';
import { checkNonce, issueNonce } from '../../src/workload/attestation-challenges.js';
import { SourceRateLimiter } from '../../src/network/source-limit.js';

test('a challenge nonce verifies only for the key and deployment it was issued for, and carries its expiry', () => {
  const key = randomBytes(32);
  const exp = Date.UTC(2026, 10, 22, 12, 0, 0);
  const n = issueNonce(key, 'dep_a', exp);
  assert.equal(n.length, 112);
  assert.equal(checkNonce(key, n, 'dep_a'), exp);
  assert.notEqual(issueNonce(key, 'dep_a', exp), n, 'each nonce has fresh randomness');
  assert.equal(checkNonce(key, n, 'dep_b'), null, 'another deployment');
  assert.equal(checkNonce(randomBytes(32), n, 'dep_a'), null, 'another process (key)');
  for (const i of [0, 5, 20, 60, 111]) {
    const flipped = n.slice(0, i) + (n[i] === '0' ? '1' : '0') + n.slice(i + 1);
    assert.equal(checkNonce(key, flipped, 'dep_a'), null, `hex digit ${i} changed`);
  }
  assert.equal(checkNonce(key, n.slice(0, 110), 'dep_a'), null, 'truncated');
  assert.equal(checkNonce(key, n.toUpperCase(), 'dep_a'), null, 'not lower-case hex');
  assert.equal(checkNonce(key, '', 'dep_a'), null);
  assert.equal(checkNonce(key, 'zz'.repeat(56), 'dep_a'), null);
});

test('the per-source limiter: a burst, then 429 with Retry-After, refill over time, sources apart, table bounded', async () => {
  const clock = new FixedClock(1_000_000);
  const l = new SourceRateLimiter(clock, { requestsPerSecond: 2, burst: 3 }, 4);
  for (let i = 0; i < 3; i++) await l.take('10.0.0.1');
  await assert.rejects(l.take('10.0.0.1'), (e: unknown) => e instanceof RateLimited && e.status === 429 && e.headers['retry-after'] === '1');
  await l.take('10.0.0.2'); // another source has its own bucket
  clock.advance(500); // one token back at 2/s
  await l.take('10.0.0.1');
  await assert.rejects(l.take('10.0.0.1'), RateLimited);
  for (const s of ['a', 'b', 'c', 'd', 'e']) await l.take(s);
  assert.equal(l.size, 4, 'the least recently seen sources are forgotten');
  assert.throws(() => new SourceRateLimiter(clock, { requestsPerSecond: 0, burst: 1 }), /requestsPerSecond/);
});
