// Certification path validation for attestation chains (RFC 5280 §6.1, reduced to what these PKIs use):
// the path is given in order, its root must be byte-identical to a pinned root, every link is checked
// by name and signature, issuers must be CAs allowed to sign certificates within their path length,
// and every certificate — the root too (AWS Nitro attestation process §3.2.3.1) — must be valid at `now`.
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { BasicConstraintsExtension, KeyUsageFlags, KeyUsagesExtension, X509Certificate } from '@peculiar/x509';
import { AttestationChainInvalid } from './errors.js';

const BASIC_CONSTRAINTS = '2.5.29.19';
const KEY_USAGE = '2.5.29.15';

export function certFingerprint(c: X509Certificate): string {
  return createHash('sha256').update(new Uint8Array(c.rawData)).digest('hex');
}

function sameName(a: ArrayBuffer, b: ArrayBuffer): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

export interface PathOptions {
  /** Epoch ms at which validity is judged. */
  now: number;
  /** For messages: "nitro", "sev-snp". */
  what: string;
  /** Key usage the leaf must allow, when it carries a key-usage extension. */
  leafUsage?: KeyUsageFlags;
}

/**
 * Verifies `path` = [leaf, intermediates…, root]. Returns nothing; every failed check throws
 * AttestationChainInvalid naming the certificate and the check.
 */
export async function verifyCertificatePath(path: X509Certificate[], pinnedRoots: X509Certificate[], opts: PathOptions): Promise<void> {
  try {
    await checkPath(path, pinnedRoots, opts);
  } catch (e) {
    if (e instanceof AttestationChainInvalid) throw e;
    // Extensions are decoded lazily; a malformed one surfaces here as a parser error. Still a refusal, typed.
    throw new AttestationChainInvalid(`${opts.what}: certificate path cannot be processed (${(e as Error).message})`);
  }
}

async function checkPath(path: X509Certificate[], pinnedRoots: X509Certificate[], opts: PathOptions): Promise<void> {
  if (path.length < 2) throw new AttestationChainInvalid(`${opts.what}: certificate path needs a leaf and a root, got ${path.length} certificate(s)`);
  if (pinnedRoots.length === 0) throw new AttestationChainInvalid(`${opts.what}: no pinned root is configured`);
  const root = path[path.length - 1]!;
  const rootFp = certFingerprint(root);
  if (!pinnedRoots.some((r) => certFingerprint(r) === rootFp))
    throw new AttestationChainInvalid(`${opts.what}: path ends at ${root.subject}, which is not a pinned root`);

  const at = new Date(opts.now);
  for (const c of path) {
    if (at < c.notBefore) throw new AttestationChainInvalid(`${opts.what}: ${c.subject} is not valid before ${c.notBefore.toISOString()}`);
    if (at > c.notAfter) throw new AttestationChainInvalid(`${opts.what}: ${c.subject} expired at ${c.notAfter.toISOString()}`);
  }

  if (!(await signedBy(root, root))) throw new AttestationChainInvalid(`${opts.what}: pinned root ${root.subject} is not correctly self-signed`);

  for (let i = 0; i < path.length - 1; i++) {
    const child = path[i]!;
    const issuer = path[i + 1]!;
    if (!sameName(child.issuerName.toArrayBuffer(), issuer.subjectName.toArrayBuffer()))
      throw new AttestationChainInvalid(`${opts.what}: ${child.subject} names issuer ${child.issuer}, but the next certificate is ${issuer.subject}`);
    const bc = issuer.getExtension<BasicConstraintsExtension>(BASIC_CONSTRAINTS);
    if (!bc || !bc.ca) throw new AttestationChainInvalid(`${opts.what}: issuer ${issuer.subject} is not a CA (basicConstraints)`);
    // Number of non-leaf certificates below this issuer (RFC 5280 §4.2.1.9 pathLenConstraint).
    const casBelow = i;
    if (bc.pathLength !== undefined && casBelow > bc.pathLength)
      throw new AttestationChainInvalid(`${opts.what}: issuer ${issuer.subject} allows path length ${bc.pathLength}, path has ${casBelow}`);
    const ku = issuer.getExtension<KeyUsagesExtension>(KEY_USAGE);
    if (ku && (ku.usages & KeyUsageFlags.keyCertSign) === 0)
      throw new AttestationChainInvalid(`${opts.what}: issuer ${issuer.subject} may not sign certificates (keyUsage)`);
    if (!(await signedBy(child, issuer)))
      throw new AttestationChainInvalid(`${opts.what}: signature on ${child.subject} does not verify with ${issuer.subject}`);
  }

  const leaf = path[0]!;
  if (opts.leafUsage !== undefined) {
    const ku = leaf.getExtension<KeyUsagesExtension>(KEY_USAGE);
    if (ku && (ku.usages & opts.leafUsage) === 0)
      throw new AttestationChainInvalid(`${opts.what}: leaf ${leaf.subject} key usage does not allow this signature`);
  }
}

// Whether issuer's key signed child is a pure function of the two DER encodings, so a verified link
// can be remembered by their fingerprints (validity dates are still checked on every call). Only
// successes are cached; the set is bounded and simply cleared when full.
const verifiedLinks = new Set<string>();
const MAX_CACHED_LINKS = 4096;

async function signedBy(child: X509Certificate, issuer: X509Certificate): Promise<boolean> {
  const link = `${certFingerprint(child)}<${certFingerprint(issuer)}`;
  if (verifiedLinks.has(link)) return true;
  let ok: boolean;
  try {
    ok = await child.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    // An unsupported or malformed signature algorithm is a failed verification, never a pass.
    ok = false;
  }
  if (ok === true) {
    if (verifiedLinks.size >= MAX_CACHED_LINKS) verifiedLinks.clear();
    verifiedLinks.add(link);
  }
  return ok === true;
}
