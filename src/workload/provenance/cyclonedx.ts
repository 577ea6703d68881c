// CycloneDX JSON SBOM (cyclonedx.org/docs/1.6/json) attached to a model: it must be CycloneDX
// 1.4-1.6, and describe this artifact: metadata.component carries a SHA-256 hash equal to the
// model digest. Components are counted; ML-BOM model and data components are listed.
import { SbomRejected } from './errors.js';

const SPEC_VERSIONS = new Set(['1.4', '1.5', '1.6']);

export interface VerifiedSbom {
  specVersion: string;
  serialNumber: string | null;
  components: number;
  /** `name@version` of machine-learning-model and data components (CycloneDX ML-BOM). */
  mlComponents: string[];
}

export function verifySbom(sbom: unknown, artifactDigest: string): VerifiedSbom {
  if (typeof sbom !== 'object' || sbom === null || Array.isArray(sbom)) throw new SbomRejected('SBOM is not a JSON object');
  const b = sbom as Record<string, unknown>;
  if (b.bomFormat !== 'CycloneDX') throw new SbomRejected(`bomFormat ${JSON.stringify(b.bomFormat)} is not CycloneDX`);
  if (typeof b.specVersion !== 'string' || !SPEC_VERSIONS.has(b.specVersion)) throw new SbomRejected(`specVersion ${JSON.stringify(b.specVersion)} is not 1.4-1.6`);
  if (b.serialNumber !== undefined && (typeof b.serialNumber !== 'string' || !/^urn:uuid:[0-9a-f-]{36}$/i.test(b.serialNumber))) throw new SbomRejected('serialNumber is not a urn:uuid');
  const meta = b.metadata as { component?: { hashes?: unknown } } | undefined;
  const hashes = Array.isArray(meta?.component?.hashes) ? (meta!.component!.hashes as { alg?: unknown; content?: unknown }[]) : [];
  const want = artifactDigest.replace(/^sha256:/, '').toLowerCase();
  if (!hashes.some((h) => h.alg === 'SHA-256' && typeof h.content === 'string' && h.content.toLowerCase() === want)) {
    throw new SbomRejected(`metadata.component has no SHA-256 hash ${want}: the SBOM describes another artifact`);
  }
  const components = b.components === undefined ? [] : b.components;
  if (!Array.isArray(components)) throw new SbomRejected('components is not a list');
  const ml: string[] = [];
  for (const [i, c] of components.entries()) {
    const o = c as { type?: unknown; name?: unknown; version?: unknown };
    if (typeof o !== 'object' || o === null || typeof o.type !== 'string' || typeof o.name !== 'string') throw new SbomRejected(`component ${i} has no type or name`);
    if (o.type === 'machine-learning-model' || o.type === 'data') ml.push(`${o.name}@${typeof o.version === 'string' ? o.version : ''}`);
  }
  return { specVersion: b.specVersion, serialNumber: (b.serialNumber as string | undefined) ?? null, components: components.length, mlComponents: ml };
}
