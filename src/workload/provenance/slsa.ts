// SLSA Provenance v1 (slsa.dev/spec/v1.0/provenance) for a model: who built it (builder.id), from
// which source (a pinned git dependency), on which training data (dataset dependencies with
// digests). The statement must be DSSE-signed by a trusted builder key unless the policy explicitly
// takes unsigned statements, and its subject must be the artifact being registered.
import type { KeyObject } from 'node:crypto';
import { parseEnvelope, verifyEnvelope } from '../signing/dsse.js';
import { IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_V1 } from '../signing/statement.js';
import { ProvenanceRejected } from './errors.js';

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';

export interface ProvenancePolicy {
  /** Builder ids (exact match) allowed to have built the model. */
  allowedBuilderIds: string[];
  /** Source URIs must start with one of these (e.g. `git+https://github.com/acme/`). Empty: any pinned source. */
  allowedSourcePrefixes?: string[];
  /** Keys that sign provenance (the builder's). */
  builderKeys?: KeyObject[];
  /** Accept a bare (unsigned) statement. Off by default: anyone can write JSON. */
  allowUnsigned?: boolean;
  /** Require at least one training dataset dependency, each with a digest. */
  requireDatasets?: boolean;
}

export interface DatasetRef {
  uri: string;
  digest: Record<string, string>;
}

export interface VerifiedProvenance {
  builderId: string;
  buildType: string;
  source: { uri: string; digest: Record<string, string> };
  datasets: DatasetRef[];
  signed: boolean;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown, what: string): Obj => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProvenanceRejected(`${what} is missing or not an object`);
  return v as Obj;
};
const DIGEST_VALUE = /^[0-9a-f]{40,128}$/;

function digestOf(v: unknown, what: string): Record<string, string> {
  const d = obj(v, `${what} digest`);
  const entries = Object.entries(d);
  if (entries.length === 0 || !entries.every(([, x]) => typeof x === 'string' && DIGEST_VALUE.test(x))) throw new ProvenanceRejected(`${what} has no usable digest`);
  return d as Record<string, string>;
}

function isDataset(dep: Obj): boolean {
  const a = typeof dep.annotations === 'object' && dep.annotations !== null ? (dep.annotations as Obj) : {};
  return a.kind === 'dataset' || a.type === 'dataset' || dep.name === 'dataset' || (typeof dep.name === 'string' && dep.name.startsWith('dataset:'));
}

/** Decodes a DSSE envelope (verifying it) or takes a bare statement when the policy allows. */
function statementBytes(input: unknown, policy: ProvenancePolicy): { payload: Buffer; signed: boolean } {
  const o = obj(input, 'provenance');
  if ('payloadType' in o) {
    const env = parseEnvelope(o);
    const keys = policy.builderKeys ?? [];
    if (keys.length === 0) throw new ProvenanceRejected('provenance is signed but no builder key is configured to verify it');
    for (const k of keys) {
      try {
        return { payload: verifyEnvelope(env, k, IN_TOTO_PAYLOAD_TYPE), signed: true };
      } catch {
        // try the next trusted builder key
      }
    }
    throw new ProvenanceRejected('provenance signature does not verify under any trusted builder key');
  }
  if (!policy.allowUnsigned) throw new ProvenanceRejected('provenance is not signed (a DSSE envelope is required)');
  return { payload: Buffer.from(JSON.stringify(o)), signed: false };
}

export function verifyProvenance(input: unknown, artifactDigest: string, policy: ProvenancePolicy): VerifiedProvenance {
  const { payload, signed } = statementBytes(input, policy);
  let st: Obj;
  try {
    st = obj(JSON.parse(payload.toString('utf8')), 'statement');
  } catch (e) {
    if (e instanceof ProvenanceRejected) throw e;
    throw new ProvenanceRejected('provenance statement is not JSON');
  }
  if (st._type !== IN_TOTO_STATEMENT_V1) throw new ProvenanceRejected(`statement _type ${JSON.stringify(st._type)} is not in-toto v1`);
  if (st.predicateType !== SLSA_PROVENANCE_V1) throw new ProvenanceRejected(`predicateType ${JSON.stringify(st.predicateType)} is not SLSA Provenance v1`);
  const want = artifactDigest.replace(/^sha256:/, '');
  const subjects = Array.isArray(st.subject) ? st.subject : [];
  if (!subjects.some((s) => typeof s === 'object' && s !== null && (s as { digest?: Obj }).digest?.sha256 === want)) {
    throw new ProvenanceRejected(`no provenance subject has sha256 ${want}: it describes another artifact`);
  }
  const pred = obj(st.predicate, 'predicate');
  const def = obj(pred.buildDefinition, 'buildDefinition');
  const run = obj(pred.runDetails, 'runDetails');
  const builderId = obj(run.builder, 'runDetails.builder').id;
  if (typeof builderId !== 'string' || builderId === '') throw new ProvenanceRejected('builder.id is missing');
  if (!policy.allowedBuilderIds.includes(builderId)) throw new ProvenanceRejected(`builder ${builderId} is not trusted`);
  if (typeof def.buildType !== 'string' || def.buildType === '') throw new ProvenanceRejected('buildType is missing');
  const deps = (Array.isArray(def.resolvedDependencies) ? def.resolvedDependencies : []).map((d, i) => obj(d, `resolvedDependencies[${i}]`));
  const sourceDep = deps.find((d) => typeof d.uri === 'string' && d.uri.startsWith('git+') && !isDataset(d));
  if (!sourceDep) throw new ProvenanceRejected('no pinned source (a git+ dependency) in resolvedDependencies');
  const source = { uri: sourceDep.uri as string, digest: digestOf(sourceDep.digest, `source ${sourceDep.uri as string}`) };
  const prefixes = policy.allowedSourcePrefixes ?? [];
  if (prefixes.length > 0 && !prefixes.some((p) => source.uri.startsWith(p))) throw new ProvenanceRejected(`source ${source.uri} is not an allowed repository`);
  const datasets = deps.filter(isDataset).map((d, i) => {
    if (typeof d.uri !== 'string' || d.uri === '') throw new ProvenanceRejected(`dataset ${i} has no uri`);
    return { uri: d.uri, digest: digestOf(d.digest, `dataset ${d.uri}`) };
  });
  if (policy.requireDatasets && datasets.length === 0) throw new ProvenanceRejected('no training dataset is declared with a digest');
  return { builderId, buildType: def.buildType, source, datasets, signed };
}
