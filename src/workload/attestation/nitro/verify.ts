// AWS Nitro Enclaves attestation: COSE_Sign1 signature by the document certificate, that certificate
// chained through cabundle to the pinned AWS Nitro root, then freshness, nonce and PCRs
// (AWS Nitro attestation process §3; "Verifying the root of trust" in the Nitro Enclaves user guide).
import 'reflect-metadata';
import { X509Certificate, KeyUsageFlags } from '@peculiar/x509';
import { AttestationChainInvalid, AttestationNonceMismatch, AttestationPolicyViolation } from '../errors.js';
import { bytesEqual, toHex } from '../bytes.js';
import { assertFresh } from '../freshness.js';
import { assertUsableNonce } from '../nonce.js';
import { parseBoundPublicKey } from '../public-key.js';
import { assertMeasurementsMatch, assertReferenceUsable } from '../reference.js';
import { sealVerifiedEvidence } from '../verified.js';
import { verifyCertificatePath } from '../x509-path.js';
import type { NitroEvidence, NitroReference, VerifiedEvidence, VerifyOptions } from '../types.js';
import { parseCoseSign1, verifyCoseSign1Es384 } from './cose-sign1.js';
import { parseNitroDocument, type NitroDocument } from './document.js';
import { createHash } from 'node:crypto';

function parseCert(der: Uint8Array, what: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (e) {
    throw new AttestationChainInvalid(`nitro: ${what} is not a valid X.509 certificate (${(e as Error).message})`);
  }
}

function leafSpki(leaf: X509Certificate): Uint8Array {
  try {
    return new Uint8Array(leaf.publicKey.rawData);
  } catch (e) {
    throw new AttestationChainInvalid(`nitro: document certificate has no usable public key (${(e as Error).message})`);
  }
}

/**
 * Authenticity only: the document parses, its certificate chains to a pinned root at `now`, and the
 * COSE signature verifies. Says nothing about freshness, nonce or PCRs — use verifyNitroEvidence for that.
 */
export async function verifyNitroDocument(document: Uint8Array, nitroRoots: X509Certificate[], now: number): Promise<NitroDocument> {
  const msg = parseCoseSign1(document);
  const doc = parseNitroDocument(msg.payload);
  const leaf = parseCert(doc.certificate, 'certificate');
  // cabundle is [ROOT, INTERM_1, …, INTERM_N]; the path is [leaf, INTERM_N, …, INTERM_1, pinned ROOT].
  // cabundle[0] must be byte-identical to a pinned root: the document cannot choose its own anchor.
  const bundle = doc.cabundle.map((c, i) => parseCert(c, `cabundle[${i}]`));
  const intermediates = bundle.slice(1).reverse();
  const claimedRoot = bundle[0]!;
  // Signature first: it covers every payload byte, so any tampering is reported as what it is.
  verifyCoseSign1Es384(msg, leafSpki(leaf));
  await verifyCertificatePath([leaf, ...intermediates, claimedRoot], nitroRoots, { now, what: 'nitro', leafUsage: KeyUsageFlags.digitalSignature });
  return doc;
}

export async function verifyNitroEvidence(evidence: NitroEvidence, reference: NitroReference, opts: VerifyOptions): Promise<VerifiedEvidence> {
  assertReferenceUsable(reference);
  assertUsableNonce(opts.nonce, 'nitro');
  const doc = await verifyNitroDocument(evidence.document, opts.trust.nitroRoots, opts.now);
  assertFresh(doc.timestamp, opts, 'nitro');
  if (doc.nonce === null) throw new AttestationNonceMismatch('nitro: the document carries no nonce, so it cannot answer this challenge');
  if (!bytesEqual(doc.nonce, opts.nonce)) throw new AttestationNonceMismatch('nitro: the document nonce is not this challenge (replayed or foreign document)');

  const measurements: Record<string, string> = {};
  for (const [idx, value] of doc.pcrs) measurements[`pcr${idx}`] = toHex(value);
  // A debug-mode enclave reports PCR0-2 as zeros (Nitro Enclaves user guide, "Debug mode"): its console
  // is attached and its document measures no image, so any code can present it. A document that leaves
  // any of PCR0-2 out, or zero, is treated the same: it does not establish a production image. Checked
  // before the PCRs, so it holds whatever the reference pins (SEV-SNP and TDX refuse debug guests too).
  const debugMode = [0, 1, 2].some((i) => /^0*$/.test(measurements[`pcr${i}`] ?? ''));
  if (debugMode && reference.allowDebug !== true)
    throw new AttestationPolicyViolation('nitro: the enclave runs in debug mode (PCR0-2 zero or absent); refused unless the reference sets allowDebug');
  assertMeasurementsMatch(reference, measurements);

  const platform: Record<string, string | number | boolean> = { moduleId: doc.moduleId, debugMode };
  if (doc.publicKey) platform['publicKeySha256'] = createHash('sha256').update(doc.publicKey).digest('hex');
  if (doc.userData) platform['userDataSha256'] = createHash('sha256').update(doc.userData).digest('hex');
  return sealVerifiedEvidence({
    type: 'nitro',
    measurements,
    publicKey: parseBoundPublicKey(doc.publicKey),
    nonce: toHex(opts.nonce),
    issuedAt: doc.timestamp,
    verifiedAt: opts.now,
    reference,
    platform,
  });
}
