// Attestation micro-benchmark: cost of each verifier on real evidence (done per challenge, off the
// request path) and of isTrusted() (done per request), against a raw ECDSA P-384 verify measured in
// the same run. Run: node dist/bench/attest.js  (bounded: a few seconds on 2 cores).
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { FixedClock } from '../src/core/clock.js';
import { verifyEvidence } from '../src/workload/attestation/verify-evidence.js';
import { AttestationMonitor } from '../src/workload/attestation/monitor.js';
import type { Evidence } from '../src/workload/attestation/types.js';
import { releaseModelKey } from '../src/workload/key-release.js';
import { wrapModelKey } from '../src/workload/key-release-envelope.js';
import { loadNitroDocument, nitroExpectations, realTrust, snpFile } from '../test/workload/attestation/samples.js';
import { createNitroPki, forgeNitroDocument, pcrValues, referenceFor } from '../test/workload/attestation/nitro-forge.js';
import { createTrustAnchors } from '../src/workload/attestation/trust.js';
import { INTEL_SGX_ROOT_CA_PEM } from '../src/workload/attestation/tdx/intel-root.js';
import { machine, writeResult } from './common.js';
import { tmpKeyring } from '../test/helpers/keyring.js';

async function timeIt(n: number, fn: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < Math.min(50, n); i++) await fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / n; // µs per op
}

async function main(): Promise<void> {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const msg = Buffer.alloc(672, 3);
  const sig = sign('sha384', msg, ec.privateKey);
  const baselineOnce = () => timeIt(300, () => verify('sha384', msg, ec.publicKey, sig));
  const rows: [string, number, number][] = [];
  const push = async (name: string, measure: () => Promise<number>): Promise<void> => {
    const before = await baselineOnce();
    const us = await measure();
    rows.push([name, us, us / ((before + (await baselineOnce())) / 2)]);
  };
  await push('baseline: raw ECDSA P-384 verify (node:crypto)', baselineOnce);

  const trust = realTrust();
  const nitro = nitroExpectations.find((e) => e.file === 'automata_sparsity/attestation_2.report')!;
  const nitroDoc = loadNitroDocument(nitro);
  await push('Nitro document, real (COSE ES384 + 4-cert chain + PCRs)', () =>
    timeIt(200, () =>
      verifyEvidence({ type: 'nitro', document: nitroDoc }, { type: 'nitro', pcrs: { '0': nitro.pcrs!['0']! } }, {
        nonce: Buffer.from(nitro.nonce!, 'hex'), now: nitro.timestamp_ms!, maxAgeMs: 60_000, trust,
      }),
    ),
  );

  const report = snpFile('trustee/deps/verifier/test_data/snp/test-report.bin');
  const vcek = snpFile('trustee/deps/verifier/test_data/snp/test-vcek.der');
  await push('SEV-SNP report, real (P-384 + VCEK→ASK→ARK RSA-PSS-4096 chain)', () =>
    timeIt(200, () =>
      verifyEvidence({ type: 'sev-snp', report, endorsementCert: vcek }, { type: 'sev-snp', measurement: report.subarray(0x90, 0xc0).toString('hex') }, {
        nonce: report.subarray(0x50, 0x70), now: Date.UTC(2025, 5, 1), maxAgeMs: 60_000, trust,
      }),
    ),
  );

  // A real TDX quote (v4, Sapphire Rapids): report_data reads as nonce ‖ zero padding.
  const quote = snpFile('go-tdx-guest/testing/testdata/tdx_prod_quote_SPR_E4.dat');
  const td = quote.subarray(48, 48 + 584);
  const hex = (a: number, b: number) => td.subarray(a, b).toString('hex');
  const tdxTrust = createTrustAnchors({ intelRootsPem: [INTEL_SGX_ROOT_CA_PEM] });
  const tdxNonce = Buffer.from(hex(520, 584).replace(/(00)+$/, ''), 'hex');
  await push('TDX quote v4, real (P-256 quote + QE report + PCK chain, MRTD)', () =>
    timeIt(200, () =>
      verifyEvidence({ type: 'tdx', quote }, { type: 'tdx', mrtd: hex(136, 184) }, { nonce: tdxNonce, now: Date.UTC(2026, 5, 1), maxAgeMs: 60_000, trust: tdxTrust }),
    ),
  );

  // Monitor with a generated Nitro deployment: the per-request question is isTrusted().
  const T0 = Date.UTC(2025, 5, 1, 12);
  const pki = await createNitroPki(T0);
  const pcrs = pcrValues(0x11);
  const clock = new FixedClock(T0);
  const enclave = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = enclave.publicKey.export({ format: 'der', type: 'spki' }) as Buffer;
  const monitor = new AttestationMonitor({
    trust: createTrustAnchors({ nitroRootsPem: [pki.rootPem] }),
    clock,
    audit: () => {},
    trustTtlMs: 300_000,
    reverifyEveryMs: 60_000,
    maxEvidenceAgeMs: 60_000,
    fetchTimeoutMs: 5_000,
    fetchEvidence: async (_id, nonce): Promise<Evidence> => ({
      type: 'nitro',
      document: await forgeNitroDocument(pki, { timestamp: clock.now(), pcrs, nonce: Buffer.from(nonce), publicKey: spki }),
    }),
  });
  monitor.register('dep', referenceFor(pcrs));
  await push('monitor challenge (generate + verify a Nitro document)', () => timeIt(100, () => monitor.challenge('dep')));
  await push('monitor isTrusted() (per request)', () => timeIt(200_000, () => monitor.isTrusted('dep')));

  const { keyring } = tmpKeyring();
  const wrapped = await wrapModelKey(keyring, { keyId: 'k', modelId: 'm', tenant: 'default' }, randomBytes(32));
  const verified = monitor.current('dep')!;
  await push('releaseModelKey (unwrap + RSA-OAEP-256 JWE)', () =>
    timeIt(300, () => releaseModelKey(wrapped, verified, referenceFor(pcrs), { keyring, modelId: 'm', now: clock.now(), maxEvidenceAgeMs: 60_000 })),
  );

  const lines = [
    '## Attestation (workload plane)',
    '',
    `Machine: ${machine()} (nproc ${(await import('node:os')).availableParallelism()}).`,
    'µs per operation, and the ratio to a raw ECDSA P-384 verify measured just before and after each row.',
    '',
    '| operation | µs/op | × baseline |',
    '|---|---:|---:|',
    ...rows.map(([n, us, r]) => `| ${n} | ${us.toFixed(us < 10 ? 2 : 0)} | ${r.toFixed(2)} |`),
    '',
    'Rows repeat one document, so certificate links are verified once and then served from the verified-link',
    'cache (validity dates are still checked each time); a document whose chain is new pays one signature',
    'verification per new link on top (Nitro: up to 4, SNP: 2, TDX: 2). Verification happens once per challenge',
    '(per deployment per re-verify interval), never per request; the request path only pays for isTrusted().',
  ];
  writeResult('attest', lines.join('\n'));
}

await main();
