// Warden's own release provenance: an in-toto Statement v1 whose subject is the npm tarball and whose
// predicate is SLSA Provenance v1 (slsa.dev/spec/v1.0/provenance), with the CycloneDX SBOM named as a
// byproduct by digest, in a DSSE envelope. Built and checked with the same DSSE code that signs models.
import type { KeyObject } from 'node:crypto';
import { sha256Hex } from '../../core/digest.js';
import { SLSA_PROVENANCE_V1 } from '../provenance/slsa.js';
import { parseEnvelope, signEnvelope, verifyEnvelope, type DsseEnvelope } from '../signing/dsse.js';
import { SignatureBundleMalformed, ModelSignatureInvalid } from '../signing/errors.js';
import type { Signer } from '../signing/keys.js';
import { IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_V1 } from '../signing/statement.js';
import { ReleaseRejected } from './errors.js';

export const RELEASE_BUILD_TYPE = 'https://warden.local/release/npm-pack/v1';
export const CYCLONEDX_MEDIA_TYPE = 'application/vnd.cyclonedx+json';

export interface ReleaseFacts {
  packageName: string;
  version: string;
  tarball: { name: string; bytes: Uint8Array };
  sbom: { name: string; bytes: Uint8Array };
  /** The git commit the tarball was packed from (`git rev-parse HEAD`), and whether the tree was clean. */
  source: { uri: string; commit: string; clean: boolean };
  builderId: string;
  startedOn: Date;
  finishedOn: Date;
}

export function buildReleaseStatement(f: ReleaseFacts): Record<string, unknown> {
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: f.tarball.name, digest: { sha256: sha256Hex(f.tarball.bytes) } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: RELEASE_BUILD_TYPE,
        externalParameters: { package: f.packageName, version: f.version },
        internalParameters: { treeClean: f.source.clean },
        resolvedDependencies: [{ uri: f.source.uri, digest: { gitCommit: f.source.commit } }],
      },
      runDetails: {
        builder: { id: f.builderId },
        metadata: { startedOn: f.startedOn.toISOString(), finishedOn: f.finishedOn.toISOString() },
        byproducts: [{ name: f.sbom.name, digest: { sha256: sha256Hex(f.sbom.bytes) }, mediaType: CYCLONEDX_MEDIA_TYPE }],
      },
    },
  };
}

export async function signRelease(f: ReleaseFacts, signer: Signer): Promise<DsseEnvelope> {
  const statement = buildReleaseStatement(f);
  return signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement), 'utf8'), signer);
}

export interface VerifiedRelease {
  tarballName: string;
  tarballSha256: string;
  sbomName: string;
  sbomSha256: string;
  packageName: string;
  version: string;
  sourceCommit: string;
  builderId: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function field(o: unknown, path: string[]): unknown {
  let v: unknown = o;
  for (const k of path) v = Array.isArray(v) ? (v as unknown[])[Number(k)] : isObj(v) ? v[k] : undefined;
  return v;
}

function str(o: unknown, path: string[]): string {
  const v = field(o, path);
  if (typeof v !== 'string' || v === '') throw new ReleaseRejected('release_statement_invalid', `provenance statement: ${path.join('.')} is missing`);
  return v;
}

/**
 * Checks, in order and each as a refusal: the envelope verifies under the release key; the statement is
 * an in-toto v1 SLSA provenance of our build type; its one subject's sha256 is the tarball's; the SBOM
 * byproduct's sha256 is the SBOM's; the SBOM is CycloneDX JSON. Only the authenticated payload is read.
 */
export function verifyRelease(input: { envelope: unknown; tarball: Uint8Array; sbom: Uint8Array; key: KeyObject }): VerifiedRelease {
  let payload: Buffer;
  try {
    payload = verifyEnvelope(parseEnvelope(input.envelope), input.key, IN_TOTO_PAYLOAD_TYPE);
  } catch (e) {
    if (e instanceof SignatureBundleMalformed) throw new ReleaseRejected('release_provenance_malformed', e.message);
    if (e instanceof ModelSignatureInvalid) throw new ReleaseRejected('release_signature_invalid', e.message);
    throw e;
  }
  let statement: unknown;
  try {
    statement = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new ReleaseRejected('release_statement_invalid', 'provenance payload is not JSON');
  }
  if (field(statement, ['_type']) !== IN_TOTO_STATEMENT_V1) throw new ReleaseRejected('release_statement_invalid', 'provenance payload is not an in-toto Statement v1');
  if (field(statement, ['predicateType']) !== SLSA_PROVENANCE_V1) throw new ReleaseRejected('release_statement_invalid', 'provenance predicate is not SLSA Provenance v1');
  if (field(statement, ['predicate', 'buildDefinition', 'buildType']) !== RELEASE_BUILD_TYPE) {
    throw new ReleaseRejected('release_statement_invalid', `provenance buildType is not ${RELEASE_BUILD_TYPE}`);
  }

  // Exactly one subject: a statement naming several artifacts must not vouch for this one by one of them.
  const subjects = field(statement, ['subject']);
  if (!Array.isArray(subjects) || subjects.length !== 1) throw new ReleaseRejected('release_statement_invalid', 'provenance must name exactly one subject (the tarball)');
  const tarballName = str(subjects[0], ['name']);
  const claimedTarball = str(subjects[0], ['digest', 'sha256']);
  const tarballSha256 = sha256Hex(input.tarball);
  if (claimedTarball !== tarballSha256) {
    throw new ReleaseRejected('release_tarball_mismatch', `tarball sha256 ${tarballSha256} is not the signed subject's ${claimedTarball} (${tarballName})`);
  }

  const byproducts = field(statement, ['predicate', 'runDetails', 'byproducts']);
  const sboms = Array.isArray(byproducts) ? byproducts.filter((b) => field(b, ['mediaType']) === CYCLONEDX_MEDIA_TYPE) : [];
  if (sboms.length !== 1) throw new ReleaseRejected('release_statement_invalid', 'provenance must name exactly one CycloneDX SBOM byproduct');
  const sbomName = str(sboms[0], ['name']);
  const claimedSbom = str(sboms[0], ['digest', 'sha256']);
  const sbomSha256 = sha256Hex(input.sbom);
  if (claimedSbom !== sbomSha256) throw new ReleaseRejected('release_sbom_mismatch', `SBOM sha256 ${sbomSha256} is not the signed ${claimedSbom} (${sbomName})`);
  let bom: unknown;
  try {
    bom = JSON.parse(Buffer.from(input.sbom).toString('utf8'));
  } catch {
    throw new ReleaseRejected('release_sbom_malformed', 'SBOM is not JSON');
  }
  if (field(bom, ['bomFormat']) !== 'CycloneDX') throw new ReleaseRejected('release_sbom_malformed', 'SBOM is not CycloneDX (bomFormat)');

  return {
    tarballName,
    tarballSha256,
    sbomName,
    sbomSha256,
    packageName: str(statement, ['predicate', 'buildDefinition', 'externalParameters', 'package']),
    version: str(statement, ['predicate', 'buildDefinition', 'externalParameters', 'version']),
    sourceCommit: str(statement, ['predicate', 'buildDefinition', 'resolvedDependencies', '0', 'digest', 'gitCommit']),
    builderId: str(statement, ['predicate', 'runDetails', 'builder', 'id']),
  };
}
