// Lineage of datasets as OpenLineage RunEvents (openlineage.io spec 2-0-2, `RunEvent`): each registry job
// (register, verify, retire) is a run of a job whose input is the data source and whose output is the dataset
// version. The event's SHA-256 (over its canonical JSON, RFC 8785) goes into the ledger entry of the change, so
// the stored event is chained into the ledger: a changed event no longer matches its entry.
import { createHash, randomUUID } from 'node:crypto';
import { canonicalJson } from '../../core/canonical-json.js';

export const OPENLINEAGE_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
export const PRODUCER = 'https://github.com/warden/warden/tree/main/src/data';
export const NAMESPACE_SOURCES = 'warden-data-source';
export const NAMESPACE_DATASETS = 'warden-dataset';

export interface LineageEvent {
  eventType: 'COMPLETE';
  eventTime: string;
  run: { runId: string; facets: { warden_actor: { _producer: string; _schemaURL: string; principal: string | null } } };
  job: { namespace: string; name: string };
  inputs: { namespace: string; name: string }[];
  outputs: { namespace: string; name: string; facets: { warden_dataset: { _producer: string; _schemaURL: string; id: string; digest: string; state: string } } }[];
  producer: string;
  schemaURL: string;
}

const FACET_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet';

export function lineageEvent(a: { at: number; job: string; principal: string | null; source: string; dataset: { id: string; name: string; version: string; digest: string; state: string } }): LineageEvent {
  return {
    eventType: 'COMPLETE',
    eventTime: new Date(a.at).toISOString(),
    run: { runId: randomUUID(), facets: { warden_actor: { _producer: PRODUCER, _schemaURL: FACET_SCHEMA, principal: a.principal } } },
    job: { namespace: 'warden', name: a.job },
    inputs: [{ namespace: NAMESPACE_SOURCES, name: a.source }],
    outputs: [{
      namespace: NAMESPACE_DATASETS,
      name: `${a.dataset.name}@${a.dataset.version}`,
      facets: { warden_dataset: { _producer: PRODUCER, _schemaURL: FACET_SCHEMA, id: a.dataset.id, digest: a.dataset.digest, state: a.dataset.state } },
    }],
    producer: PRODUCER,
    schemaURL: OPENLINEAGE_SCHEMA,
  };
}

export function lineageDigest(e: LineageEvent): string {
  return `sha256:${createHash('sha256').update(canonicalJson(e)).digest('hex')}`;
}

const node = (ns: string, name: string) => `${ns === NAMESPACE_SOURCES ? 'src' : 'ds'}_${name.replace(/[^A-Za-z0-9]/g, '_')}`;

/** A Mermaid flowchart of the events: sources → dataset versions, each edge labelled with its job and time. */
export function lineageMermaid(events: readonly LineageEvent[]): string {
  const lines = ['flowchart LR'];
  const seen = new Set<string>();
  for (const e of events) {
    for (const n of [...e.inputs, ...e.outputs]) {
      const id = node(n.namespace, n.name);
      if (seen.has(id)) continue;
      seen.add(id);
      lines.push(n.namespace === NAMESPACE_SOURCES ? `  ${id}[("source ${n.name}")]` : `  ${id}["dataset ${n.name}"]`);
    }
    for (const i of e.inputs) for (const o of e.outputs) lines.push(`  ${node(i.namespace, i.name)} -->|"${e.job.name} ${e.eventTime}"| ${node(o.namespace, o.name)}`);
  }
  return lines.join('\n');
}

export function lineageText(events: readonly LineageEvent[]): string {
  return events.map((e) => `${e.eventTime}  ${e.job.name.padEnd(22)} ${e.inputs.map((i) => `source ${i.name}`).join(', ')} -> ${e.outputs.map((o) => `${o.name} (${o.facets.warden_dataset.state}, ${o.facets.warden_dataset.digest.slice(0, 19)}…)`).join(', ')}  by ${e.run.facets.warden_actor.principal ?? '(system)'}`).join('\n');
}

/** A model deployment trained on datasets: the dataset graphs plus model nodes fed by the datasets it names. */
export function modelLineageMermaid(model: { id: string; name: string }, datasets: readonly { name: string | null; uri: string; ok: boolean; events: readonly LineageEvent[] }[]): string {
  const lines = lineageMermaid(datasets.flatMap((d) => d.events)).split('\n');
  const m = `model_${model.id.replace(/[^A-Za-z0-9]/g, '_')}`;
  lines.push(`  ${m}{{"model ${model.name} (${model.id})"}}`);
  for (const d of datasets) {
    const from = d.name ? node(NAMESPACE_DATASETS, d.name) : `unknown_${d.uri.replace(/[^A-Za-z0-9]/g, '_')}`;
    if (!d.name) lines.push(`  ${from}["unregistered ${d.uri}"]`);
    lines.push(`  ${from} -->|"${d.ok ? 'trained (approved)' : 'trained (NOT approved)'}"| ${m}`);
  }
  return lines.join('\n');
}
