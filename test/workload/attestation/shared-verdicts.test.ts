// Attestation verdicts shared by two replicas (two AttestationMonitors, each with its own PostgreSQL store
// connection and change feed, on one prefix of their own): one replica challenges per round, both route on the
// one stored verdict, a failure recorded by A makes B refuse within a second, each verdict change is one
// `attest` entry naming the replica that made it, a verdict past its expiry is refused by both, and a store that
// cannot be reached skips the round (logged) while what is held lapses at its expiry. The deployment is
// simulated with generated Nitro evidence (the FAKE enclave of monitor.test.ts); PostgreSQL is real.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { FixedClock } from '../../../src/core/clock.js';
import type { AuditEvent } from '../../../src/core/types.js';
import { AttestationMonitor } from '../../../src/workload/attestation/monitor.js';
import { createTrustAnchors } from '../../../src/workload/attestation/trust.js';
import type { Evidence, TrustAnchors } from '../../../src/workload/attestation/types.js';
import { PostgresAttestationVerdictStore } from '../../../src/store/attestation-verdicts-postgres.js';
import { PgChangeFeed } from '../../../src/store/pg-changes.js';
import { requireService } from '../../helpers/services.js';
import { dropPgPrefix, PG_URL, withinOneSecond } from '../../helpers/cluster.js';
import { createNitroPki, forgeNitroDocument, pcrValues, referenceFor, type NitroPki } from './nitro-forge.js';

const MIN = 60_000;
const pcrs = pcrValues(0x41);
const reference = referenceFor(pcrs);
let pki: NitroPki;
let trust: TrustAnchors;
let skip: string | false = false;
const prefixes: string[] = [];
const closers: (() => Promise<unknown>)[] = [];

before(async () => {
  skip = await requireService('postgres');
  pki = await createNitroPki(Date.now());
  trust = createTrustAnchors({ nitroRootsPem: [pki.rootPem] });
});
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  for (const p of prefixes) await dropPgPrefix(p);
});

/** A FAKE enclave both replicas challenge: counts the challenges it answers. */
function enclave(clock: FixedClock) {
  const state = { behaviour: 'honest' as 'honest' | 'wrong-pcr', fetches: 0 };
  const fetchEvidence = async (_id: string, nonce: Uint8Array): Promise<Evidence> => {
    state.fetches++;
    const p = state.behaviour === 'wrong-pcr' ? { ...pcrs, 0: Buffer.alloc(48, 0xaa) } : pcrs;
    return { type: 'nitro', document: await forgeNitroDocument(pki, { timestamp: clock.now(), pcrs: p, nonce: Buffer.from(nonce) }) };
  };
  return { state, fetchEvidence };
}

/** A TCP relay to PostgreSQL that can be cut (the store becoming unreachable) without touching the server. */
async function cuttableRelay(): Promise<{ url: string; cut(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(5432, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  closers.push(() => new Promise((r) => server.close(r)));
  return {
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    cut() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

async function replicas(o: { connectionString?: (name: string) => string; skewOfB?: number } = {}) {
  const prefix = `wav_${randomBytes(4).toString('hex')}_`;
  prefixes.push(prefix);
  const clock = new FixedClock(Date.now());
  const fake = enclave(clock);
  const events: AuditEvent[] = [];
  const errors: { replica: string; what: string }[] = [];
  const make = async (name: string) => {
    const store = await PostgresAttestationVerdictStore.connect({ connectionString: o.connectionString?.(name) ?? PG_URL, prefix });
    const feed = await PgChangeFeed.connect({ connectionString: PG_URL, prefix });
    closers.push(() => store.close(), () => feed.close());
    const monitor = new AttestationMonitor({
      trust,
      clock: name === 'replica-b' && o.skewOfB ? { now: () => clock.now() - o.skewOfB! } : clock,
      trustTtlMs: 5 * MIN,
      reverifyEveryMs: MIN,
      maxEvidenceAgeMs: MIN,
      fetchTimeoutMs: 2_000,
      audit: (e) => void events.push(e),
      fetchEvidence: fake.fetchEvidence,
      shared: {
        store,
        replica: name,
        announce: (deployment) => feed.publish({ type: 'attestation', deployment }),
        onError: (_err, what) => void errors.push({ replica: name, what }),
      },
    });
    // What the workload plane does with the feed: re-read the verdict a peer announced.
    feed.subscribe((c) => {
      if (c.type === 'attestation') void monitor.reload(c.deployment);
    });
    monitor.register('dep-1', reference);
    return monitor;
  };
  const a = await make('replica-a');
  const b = await make('replica-b');
  const attests = () => events.filter((e) => e.action === 'attest').map((e) => `${e.decision}:${e.errorCode ?? ''}:${String(e.details?.['previous'])}:${String(e.details?.['replica'])}`);
  return { a, b, clock, fake, events, errors, attests };
}

test('one replica challenges per round; both route on its verdict; a failure recorded by A makes B refuse within a second', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const { a, b, clock, fake, attests } = await replicas();
  assert.equal(a.isTrusted('dep-1'), false, 'no verdict yet: refused');
  assert.equal(b.isTrusted('dep-1'), false);

  // Both replicas' scheduler rounds at once: the deployment answers one challenge, and both trust it.
  await Promise.all([a.tick(), b.tick()]);
  assert.equal(fake.state.fetches, 1, 'one challenge for two replicas');
  await withinOneSecond('the verdict on both replicas', async () => a.isTrusted('dep-1') && b.isTrusted('dep-1'));
  assert.equal(a.evidenceDigest('dep-1'), b.evidenceDigest('dep-1'));
  assert.match(a.evidenceDigest('dep-1') ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.equal(attests().length, 1, 'one attest entry for the transition');
  assert.match(attests()[0]!, /^allow::unknown:replica-(a|b)$/);

  // Later rounds, one period on: still one challenge per round, and no entry for an unchanged verdict.
  for (let round = 2; round <= 3; round++) {
    clock.advance(MIN);
    await Promise.all([b.tick(), a.tick()]);
    assert.equal(fake.state.fetches, round);
  }
  assert.equal(attests().length, 1);

  // A (an operator's challenge through A) sees wrong evidence: B refuses within a second, told by the feed.
  fake.state.behaviour = 'wrong-pcr';
  clock.advance(1_000);
  await a.challenge('dep-1');
  assert.equal(a.isTrusted('dep-1'), false);
  const ms = await withinOneSecond('the failure on B', async () => !b.isTrusted('dep-1'));
  console.log(`# a failing verdict stored by A was refused by B after ${ms} ms`);
  assert.equal(b.status('dep-1').lastError, 'attestation_measurement_mismatch');
  assert.deepEqual(attests().slice(1), ['deny:attestation_measurement_mismatch:trusted:replica-a']);

  // Honest again through B's round: one entry, by B; both route again.
  fake.state.behaviour = 'honest';
  clock.advance(MIN);
  await Promise.all([b.tick(), a.tick()]);
  await withinOneSecond('the renewal on both replicas', async () => a.isTrusted('dep-1') && b.isTrusted('dep-1'));
  assert.equal(attests().length, 3);
  assert.match(attests()[2]!, /^allow::untrusted:replica-(a|b)$/);
});

test('a verdict past its expiry with no renewal is refused by both replicas; a renewal after it is one entry', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const { a, b, clock, fake, attests } = await replicas();
  await a.tick();
  await withinOneSecond('the verdict on B', async () => b.isTrusted('dep-1'));
  // Nobody renews (no rounds): the stored verdict lapses at verifiedAt + trustTtlMs on both.
  clock.advance(5 * MIN - 1);
  assert.equal(a.isTrusted('dep-1') && b.isTrusted('dep-1'), true);
  clock.advance(1);
  for (const r of [a, b]) {
    assert.equal(r.isTrusted('dep-1'), false);
    assert.equal(r.evidenceDigest('dep-1'), null);
    assert.equal(r.status('dep-1').lastError, 'attestation_expired');
  }
  await b.tick();
  assert.equal(fake.state.fetches, 2);
  await withinOneSecond('the renewal on A', async () => a.isTrusted('dep-1'));
  assert.deepEqual(attests(), ['allow::unknown:replica-a', 'allow::expired:replica-b']);
});

test('PostgreSQL unreachable: the round is skipped and logged, nothing is challenged, the held verdict lapses at its expiry', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const relay = await cuttableRelay();
  // Replica A reaches PostgreSQL through a relay that is then cut; B keeps its connection.
  const { a, b, clock, fake, errors, attests } = await replicas({ connectionString: (name) => (name === 'replica-a' ? relay.url : PG_URL) });
  await a.tick();
  assert.equal(a.isTrusted('dep-1'), true);
  relay.cut();
  clock.advance(MIN);
  await a.tick();
  await a.challenge('dep-1');
  assert.equal(fake.state.fetches, 1, 'no challenge without the store: its verdict could not be shared');
  assert.ok(errors.some((e) => e.replica === 'replica-a' && e.what === 'attestation round skipped'), JSON.stringify(errors));
  assert.equal(a.isTrusted('dep-1'), true, 'what is held stays until its expiry');
  // Never extended locally: past verifiedAt + trustTtlMs it is refused, whatever A's rounds do.
  clock.advance(4 * MIN);
  await a.tick();
  assert.equal(a.isTrusted('dep-1'), false);
  assert.equal(a.status('dep-1').lastError, 'attestation_expired');
  assert.equal(fake.state.fetches, 1);
  // B, still connected, renews: routing resumes there; A stays refused until it can read the store again.
  await b.tick();
  assert.equal(b.isTrusted('dep-1'), true);
  assert.equal(a.isTrusted('dep-1'), false);
  assert.deepEqual(attests(), ['allow::unknown:replica-a', 'allow::expired:replica-b']);
});

test('a failure stored by a replica whose clock is behind still replaces the verdict the others hold', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  // B's clock is 20 s behind A's: its later verdict carries an earlier checkedAt than A's.
  const { a, b, fake, attests } = await replicas({ skewOfB: 20_000 });
  await a.tick();
  await withinOneSecond('the verdict on B', async () => b.isTrusted('dep-1'));
  fake.state.behaviour = 'wrong-pcr';
  await b.challenge('dep-1');
  assert.equal(b.isTrusted('dep-1'), false);
  await withinOneSecond('the failure on A', async () => !a.isTrusted('dep-1'));
  assert.deepEqual(attests(), ['allow::unknown:replica-a', 'deny:attestation_measurement_mismatch:trusted:replica-b']);
});
