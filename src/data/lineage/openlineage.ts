// Lineage of datasets as OpenLineage RunEvents (openlineage.io spec 2-0-2, `RunEvent`): each registry job
// (register, verify, retire) is a run of a job whose input is the data source and whose output is the dataset
// version; a training run (a training token issued for a model, src/data/datasets/training-access.ts) is a
// START event of job `train.<model>` whose inputs are the datasets and whose output is the model, ended by a
// COMPLETE (its token expired, or an admin ended it) or FAIL event of the same run id; a dataset registered as
// derived from another is a `data.dataset.transform` run (parent version → new version); an evaluation of a model
// on a dataset is a run of job `evaluate.<model>` whose inputs are the model and the dataset; a verification that fails
// is a FAIL event of its job, with OpenLineage's errorMessage run facet. The event's
// SHA-256 (over its canonical JSON, RFC 8785) goes into the ledger entry of the change, so the stored event is
// chained into the ledger: a changed event no longer matches its entry.
import { createHash, randomUUID } from 'node:crypto';
import { canonicalJson } from '../../core/canonical-json.js';

export const OPENLINEAGE_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
export const PRODUCER = 'https://github.com/warden/warden/tree/main/src/data';
export const NAMESPACE_SOURCES = 'warden-data-source';
export const NAMESPACE_DATASETS = 'warden-dataset';
export const NAMESPACE_MODELS = 'warden-model';

const RUN_FACET_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet';
const DATASET_FACET_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetFacet';

interface Facet {
  _producer: string;
  _schemaURL: string;
}
export interface DatasetFacet extends Facet {
  id: string;
  digest: string;
  state: string;
}

export interface LineageDataset {
  namespace: string;
  name: string;
  facets?: { warden_dataset?: DatasetFacet };
}

export type LineageEventType = 'START' | 'COMPLETE' | 'FAIL';

export interface RunFacets {
  warden_actor: Facet & { principal: string | null };
  /** Why a run ended: an admin ended it, or its token expired. */
  warden_run_end?: Facet & { reason: string };
  /** OpenLineage's standard facet of a failed run. */
  errorMessage?: Facet & { message: string; programmingLanguage: string };
  /** A poisoning screen's result (`warden data screen --dataset`): each check's value against its threshold. */
  warden_screen?: Facet & ScreenSummary;
  /** A derived dataset (registered with `derivedFrom`): what the transformation did, as the registering admin says. */
  warden_transform?: Facet & { description: string | null };
  /** An evaluation of a model on a dataset (`warden model evaluate`): the model and the metrics the evaluator reported. */
  warden_evaluation?: Facet & { model: string; metrics: Record<string, number> };
}

/** What a screen run records of its report (src/data/screen/screen.ts): no record text, only the figures. */
export interface ScreenSummary {
  records: number;
  baselineRecords: number | null;
  /** The baseline's dataset digest, when the screen had one. */
  baselineDigest: string | null;
  alarms: string[];
  checks: { name: string; value: number; threshold: number; alarm: boolean }[];
}

export interface LineageEvent {
  eventType: LineageEventType;
  eventTime: string;
  run: { runId: string; facets: RunFacets };
  job: { namespace: string; name: string };
  inputs: LineageDataset[];
  outputs: LineageDataset[];
  producer: string;
  schemaURL: string;
}

type DatasetRef = { id: string; name: string; version: string; digest: string; state: string };

const datasetNode = (d: DatasetRef): LineageDataset => ({
  namespace: NAMESPACE_DATASETS,
  name: `${d.name}@${d.version}`,
  facets: { warden_dataset: { _producer: PRODUCER, _schemaURL: DATASET_FACET_SCHEMA, id: d.id, digest: d.digest, state: d.state } },
});

const ERROR_FACET_SCHEMA = 'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet';

/** The run facets of an event: who acted, and for an ending run why it ended (and, failed, the error). */
function runFacets(principal: string | null, end?: { reason: string; error?: string }): RunFacets {
  return {
    warden_actor: { _producer: PRODUCER, _schemaURL: RUN_FACET_SCHEMA, principal },
    ...(end ? { warden_run_end: { _producer: PRODUCER, _schemaURL: RUN_FACET_SCHEMA, reason: end.reason } } : {}),
    ...(end?.error !== undefined ? { errorMessage: { _producer: PRODUCER, _schemaURL: ERROR_FACET_SCHEMA, message: end.error, programmingLanguage: 'TypeScript' } } : {}),
  };
}

function runEvent(eventType: LineageEventType, at: number, job: string, facets: RunFacets, inputs: LineageDataset[], outputs: LineageDataset[], runId: string = randomUUID()): LineageEvent {
  return {
    eventType,
    eventTime: new Date(at).toISOString(),
    run: { runId, facets },
    job: { namespace: 'warden', name: job },
    inputs,
    outputs,
    producer: PRODUCER,
    schemaURL: OPENLINEAGE_SCHEMA,
  };
}

/** A registry job on a dataset: source → dataset version; FAIL (with the error) when the job was refused. */
export function lineageEvent(a: { at: number; job: string; principal: string | null; source: string; dataset: DatasetRef; failed?: string }): LineageEvent {
  const facets = runFacets(a.principal, a.failed !== undefined ? { reason: 'refused', error: a.failed } : undefined);
  return runEvent(a.failed !== undefined ? 'FAIL' : 'COMPLETE', a.at, a.job, facets, [{ namespace: NAMESPACE_SOURCES, name: a.source }], [datasetNode(a.dataset)]);
}

/** A poisoning screen over a dataset version (run in the CLI, recorded by the gateway): its input is the dataset. */
export function screenRunEvent(a: { at: number; principal: string | null; dataset: DatasetRef; screen: ScreenSummary }): LineageEvent {
  const facets: RunFacets = { ...runFacets(a.principal), warden_screen: { _producer: PRODUCER, _schemaURL: RUN_FACET_SCHEMA, ...a.screen } };
  return runEvent('COMPLETE', a.at, 'data.dataset.screen', facets, [datasetNode(a.dataset)], []);
}

/** A dataset derived from another (registered with `derivedFrom`): the parent version → the new version. */
export function transformRunEvent(a: { at: number; principal: string | null; parent: DatasetRef; dataset: DatasetRef; description: string | null }): LineageEvent {
  const facets: RunFacets = { ...runFacets(a.principal), warden_transform: { _producer: PRODUCER, _schemaURL: RUN_FACET_SCHEMA, description: a.description } };
  return runEvent('COMPLETE', a.at, 'data.dataset.transform', facets, [datasetNode(a.parent)], [datasetNode(a.dataset)]);
}

/** An evaluation of a model on a dataset version (`warden model evaluate`): inputs the model and the dataset, no output. */
export function evaluationRunEvent(a: { at: number; principal: string | null; model: string; dataset: DatasetRef; metrics: Record<string, number> }): LineageEvent {
  const facets: RunFacets = { ...runFacets(a.principal), warden_evaluation: { _producer: PRODUCER, _schemaURL: RUN_FACET_SCHEMA, model: a.model, metrics: a.metrics } };
  return runEvent('COMPLETE', a.at, `evaluate.${a.model}`, facets, [{ namespace: NAMESPACE_MODELS, name: a.model }, datasetNode(a.dataset)], []);
}

/** A training run starting (its token issued): datasets → model. The run id is the token's jti (a UUID). */
export function trainingRunEvent(a: { at: number; runId: string; principal: string | null; model: string; datasets: DatasetRef[] }): LineageEvent {
  return runEvent('START', a.at, `train.${a.model}`, runFacets(a.principal), a.datasets.map(datasetNode), [{ namespace: NAMESPACE_MODELS, name: a.model }], a.runId);
}

/** The same training run ending: COMPLETE, or FAIL with the error the admin gave. */
export function trainingRunEndEvent(a: { at: number; runId: string; principal: string | null; model: string; datasets: DatasetRef[]; eventType: 'COMPLETE' | 'FAIL'; reason: string; error?: string }): LineageEvent {
  const facets = runFacets(a.principal, { reason: a.reason, ...(a.error !== undefined ? { error: a.error } : {}) });
  return runEvent(a.eventType, a.at, `train.${a.model}`, facets, a.datasets.map(datasetNode), [{ namespace: NAMESPACE_MODELS, name: a.model }], a.runId);
}

export function lineageDigest(e: LineageEvent): string {
  return `sha256:${createHash('sha256').update(canonicalJson(e)).digest('hex')}`;
}

// --- the graph, and its pictures ------------------------------------------------------------------

type NodeKind = 'source' | 'dataset' | 'model' | 'deployment' | 'unregistered';
export interface LineageGraph {
  nodes: Map<string, { kind: NodeKind; label: string }>;
  edges: { from: string; to: string; label: string }[];
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9]/g, '_');
const PREFIX: Record<string, string> = { [NAMESPACE_SOURCES]: 'src', [NAMESPACE_DATASETS]: 'ds', [NAMESPACE_MODELS]: 'mdl' };
const KIND: Record<string, NodeKind> = { [NAMESPACE_SOURCES]: 'source', [NAMESPACE_DATASETS]: 'dataset', [NAMESPACE_MODELS]: 'model' };
const nodeId = (n: LineageDataset) => `${PREFIX[n.namespace] ?? 'other'}_${slug(n.name)}`;

/** Sources → dataset versions → models, each edge labelled with its job and time. */
export function lineageGraph(events: readonly LineageEvent[]): LineageGraph {
  const g: LineageGraph = { nodes: new Map(), edges: [] };
  for (const e of events) {
    for (const n of [...e.inputs, ...e.outputs]) if (!g.nodes.has(nodeId(n))) g.nodes.set(nodeId(n), { kind: KIND[n.namespace] ?? 'dataset', label: `${KIND[n.namespace] ?? n.namespace} ${n.name}` });
    const label = `${e.job.name}${e.eventType === 'COMPLETE' ? '' : ` ${e.eventType}`} ${e.eventTime}`;
    for (const i of e.inputs) for (const o of e.outputs) g.edges.push({ from: nodeId(i), to: nodeId(o), label });
  }
  return g;
}

/** A model deployment trained on datasets: the dataset graphs plus the deployment fed by the datasets its provenance names. */
export function modelLineageGraph(model: { id: string; name: string }, datasets: readonly { name: string | null; uri: string; ok: boolean; events: readonly LineageEvent[] }[]): LineageGraph {
  const g = lineageGraph(datasets.flatMap((d) => d.events));
  const m = `model_${slug(model.id)}`;
  g.nodes.set(m, { kind: 'deployment', label: `model ${model.name} (${model.id})` });
  for (const d of datasets) {
    const from = d.name ? nodeId({ namespace: NAMESPACE_DATASETS, name: d.name }) : `unknown_${slug(d.uri)}`;
    if (!d.name) g.nodes.set(from, { kind: 'unregistered', label: `unregistered ${d.uri}` });
    g.edges.push({ from, to: m, label: d.ok ? 'trained (approved)' : 'trained (NOT approved)' });
  }
  return g;
}

const MERMAID_SHAPE: Record<NodeKind, (id: string, label: string) => string> = {
  source: (id, l) => `${id}[("${l}")]`,
  dataset: (id, l) => `${id}["${l}"]`,
  unregistered: (id, l) => `${id}["${l}"]`,
  model: (id, l) => `${id}(["${l}"])`,
  deployment: (id, l) => `${id}{{"${l}"}}`,
};

export function toMermaid(g: LineageGraph): string {
  const lines = ['flowchart LR'];
  for (const [id, n] of g.nodes) lines.push(`  ${MERMAID_SHAPE[n.kind](id, n.label.replace(/"/g, '#quot;'))}`);
  for (const e of g.edges) lines.push(`  ${e.from} -->|"${e.label.replace(/"/g, '#quot;')}"| ${e.to}`);
  return lines.join('\n');
}

const DOT_SHAPE: Record<NodeKind, string> = { source: 'cylinder', dataset: 'box', unregistered: 'box, style=dashed', model: 'ellipse', deployment: 'hexagon' };
const dotString = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Graphviz DOT (`dot -Tsvg`), the same graph as the Mermaid flowchart. */
export function toDot(g: LineageGraph): string {
  const lines = ['digraph lineage {', '  rankdir=LR;'];
  for (const [id, n] of g.nodes) lines.push(`  ${id} [label=${dotString(n.label)}, shape=${DOT_SHAPE[n.kind]}];`);
  for (const e of g.edges) lines.push(`  ${e.from} -> ${e.to} [label=${dotString(e.label)}];`);
  lines.push('}');
  return lines.join('\n');
}

export const lineageMermaid = (events: readonly LineageEvent[]): string => toMermaid(lineageGraph(events));

const describeNode = (n: LineageDataset) => {
  const f = n.facets?.warden_dataset;
  return f ? `${n.name} (${f.state}, ${f.digest.slice(0, 19)}…)` : `${KIND[n.namespace] ?? n.namespace} ${n.name}`;
};

export function lineageText(events: readonly LineageEvent[]): string {
  return events
    .map((e) => {
      const from = e.inputs.map((i) => (i.namespace === NAMESPACE_SOURCES ? `source ${i.name}` : describeNode(i))).join(', ');
      const screen = e.run.facets.warden_screen;
      const evaluation = e.run.facets.warden_evaluation;
      if (evaluation) return `${e.eventTime}  ${e.job.name.padEnd(22)} model ${evaluation.model} on ${e.inputs.filter((i) => i.namespace === NAMESPACE_DATASETS).map(describeNode).join(', ')}: ${Object.entries(evaluation.metrics).map(([k, v]) => `${k}=${v}`).join(' ')}  by ${e.run.facets.warden_actor.principal ?? '(system)'}`;
      if (screen) return `${e.eventTime}  ${e.job.name.padEnd(22)} ${from} screened: ${screen.records} record(s), ${screen.alarms.length ? `ALARMS ${screen.alarms.join(', ')}` : 'no alarm'}  by ${e.run.facets.warden_actor.principal ?? '(system)'}`;
      const end = e.run.facets.warden_run_end ? `  (${e.eventType}: ${e.run.facets.errorMessage?.message ?? e.run.facets.warden_run_end.reason})` : e.eventType === 'START' ? '  (START)' : '';
      return `${e.eventTime}  ${e.job.name.padEnd(22)} ${from} -> ${e.outputs.map(describeNode).join(', ')}  by ${e.run.facets.warden_actor.principal ?? '(system)'}${end}`;
    })
    .join('\n');
}
