// The promotion gate's data side: for each dataset a model's verified SLSA provenance names by digest, is it a
// registered dataset, verified, from a source still trusted, and approved for this model by its latest
// trainOn decision? The workload registry refuses promotion on the first "no" (in the ledger), and
// `warden model show` prints the explanation for every dataset.
//
// Datasets are looked up in the deployment's tenant and in the platform tenant only (src/core/tenant.ts): the
// platform's datasets may feed any tenant's slot, another tenant's never, so a model of tenant A is not promoted
// on the strength of tenant B's dataset and B's trainOn approval even when the digests are equal.
import { PLATFORM_TENANT } from '../../core/tenant.js';
import type { DatasetRef } from '../../workload/provenance/slsa.js';
import type { DatasetRegistry } from './registry.js';

export interface TrainingDataStatus {
  uri: string;
  digest: string;
  dataset: string | null;
  state: string | null;
  ok: boolean;
  reason: string | null;
  /** The allowing trainOn decision that approves it (ok only): the purpose it was asked for, the policy set, who asked, when. */
  approval: { purpose: string | null; policyVersion: string; decidedBy: string; at: number } | null;
}

/** The deployment the gate judges: its model and the tenant of the slot it serves. */
export interface GatedModel {
  model: string;
  tenant: string;
}

export async function explainTrainingData(reg: DatasetRegistry, dep: GatedModel, datasets: readonly DatasetRef[]): Promise<TrainingDataStatus[]> {
  const { model, tenant } = dep;
  const where = tenant === PLATFORM_TENANT ? `the platform tenant ${PLATFORM_TENANT}` : `tenant ${tenant} or the platform tenant ${PLATFORM_TENANT}`;
  return Promise.all(datasets.map(async (ref) => {
    const hex = ref.digest.sha256;
    const base = { uri: ref.uri, digest: hex ? `sha256:${hex}` : JSON.stringify(ref.digest) };
    const no = (reason: string, dataset: string | null = null, state: string | null = null): TrainingDataStatus => ({ ...base, dataset, state, ok: false, reason, approval: null });
    if (!hex) return no(`${ref.uri} is named without a sha256 digest`);
    const candidates = await reg.byDigest(`sha256:${hex}`, [tenant, PLATFORM_TENANT]);
    if (candidates.length === 0) return no(`${ref.uri} (sha256:${hex.slice(0, 12)}…) is not a registered dataset of ${where}`);
    const verified = candidates.filter((c) => c.state === 'verified');
    if (verified.length === 0) return no(`${ref.uri} is ${candidates.map((c) => `${c.name}@${c.version} ${c.state}`).join(', ')}, not verified`, candidates[0]!.id, candidates[0]!.state);
    for (const c of verified) {
      if ((await reg.getSource(c.sourceId, c.tenant)).retiredAt !== null) continue;
      // A decision about the model of this deployment's tenant, or (for a platform dataset) of the platform.
      const last = (await reg.trainDecisions(c.id, c.tenant)).filter((t) => t.model === model && (t.tenant === tenant || t.tenant === c.tenant)).at(-1);
      if (last?.allow) return { ...base, dataset: c.id, state: c.state, ok: true, reason: null, approval: { purpose: last.purpose, policyVersion: last.policyVersion, decidedBy: last.decidedBy, at: last.at } };
    }
    const c = verified[0]!;
    return no(`${c.name}@${c.version} is not approved for ${model} (no allowing trainOn decision${(await reg.getSource(c.sourceId, c.tenant)).retiredAt !== null ? '; its source is retired' : ''})`, c.id, c.state);
  }));
}

/** The registry's gate: the first refusal reason, or null when every named dataset may be used. */
export function trainingDataGate(reg: DatasetRegistry) {
  return async (dep: GatedModel, datasets: readonly DatasetRef[]): Promise<string | null> => {
    const bad = (await explainTrainingData(reg, dep, datasets)).filter((s) => !s.ok);
    return bad.length ? `training data: ${bad.map((b) => b.reason).join('; ')}` : null;
  };
}
