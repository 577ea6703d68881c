// ONNX metadata sanity (onnx/onnx.proto3): the model must parse, declare an IR version and a graph,
// and every tensor stored as external data must name a file inside the model directory that exists
// and is large enough. ONNX runtimes resolve `location` relative to the model file, so `../` or an
// absolute path would read any file on the host into a weight (CVE-2024-27318 / CVE-2022-25882 class).
import { lstat } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { relativePathProblem } from './archive-paths.js';
import { readFields } from './protobuf-wire.js';
import { MalformedArtifact } from './types.js';

// Field numbers from onnx.proto3.
const MODEL = { irVersion: 1, graph: 7, functions: 25, trainingInfo: 20 };
const GRAPH = { node: 1, initializer: 5, sparseInitializer: 15 };
const NODE = { attribute: 5 };
const ATTRIBUTE = { t: 5, g: 6, tensors: 10, graphs: 11, sparseTensor: 22, sparseTensors: 23 };
const TENSOR = { name: 8, externalData: 13, dataLocation: 14 };
const SPARSE = { values: 1, indices: 2 };
const ENTRY = { key: 1, value: 2 };
const FUNCTION = { node: 7 };
const TRAINING = { initialization: 1, algorithm: 2 };
const MAX_IR_VERSION = 12n;
const MAX_DEPTH = 64;

export interface ExternalDataRef {
  tensor: string;
  location: string;
  offset: number;
  length: number | undefined;
}

export interface OnnxInfo {
  irVersion: number;
  externalData: ExternalDataRef[];
}

const bad = (rule: string, m: string) => new MalformedArtifact(`onnx.${rule}`, m);

function parseTensor(buf: Buffer, out: ExternalDataRef[]): void {
  let name = '';
  let external = false;
  const entries: Record<string, string> = {};
  for (const f of readFields(buf)) {
    if (f.field === TENSOR.name && f.bytes) name = f.bytes.toString('utf8');
    else if (f.field === TENSOR.dataLocation && f.varint !== undefined) external = f.varint === 1n;
    else if (f.field === TENSOR.externalData && f.bytes) {
      let k = '';
      let v = '';
      for (const e of readFields(f.bytes)) {
        if (e.field === ENTRY.key && e.bytes) k = e.bytes.toString('utf8');
        if (e.field === ENTRY.value && e.bytes) v = e.bytes.toString('utf8');
      }
      entries[k] = v;
    }
  }
  if (!external && Object.keys(entries).length === 0) return;
  const location = entries.location;
  if (location === undefined || location === '') throw bad('external_data', `tensor ${name} is external but has no location`);
  const num = (k: string) => {
    const s = entries[k];
    if (s === undefined) return undefined;
    if (!/^\d+$/.test(s)) throw bad('external_data', `tensor ${name}: ${k} ${JSON.stringify(s)} is not a number`);
    return Number(s);
  };
  out.push({ tensor: name, location, offset: num('offset') ?? 0, length: num('length') });
}

function walkGraph(buf: Buffer, out: ExternalDataRef[], depth: number): void {
  if (depth > MAX_DEPTH) throw bad('malformed', 'graphs nested too deeply');
  for (const f of readFields(buf)) {
    if (!f.bytes) continue;
    if (f.field === GRAPH.initializer) parseTensor(f.bytes, out);
    else if (f.field === GRAPH.sparseInitializer) walkSparse(f.bytes, out);
    else if (f.field === GRAPH.node) walkNode(f.bytes, out, depth);
  }
}

function walkSparse(buf: Buffer, out: ExternalDataRef[]): void {
  for (const f of readFields(buf)) if (f.bytes && (f.field === SPARSE.values || f.field === SPARSE.indices)) parseTensor(f.bytes, out);
}

function walkNode(buf: Buffer, out: ExternalDataRef[], depth: number): void {
  for (const f of readFields(buf)) {
    if (f.field !== NODE.attribute || !f.bytes) continue;
    for (const a of readFields(f.bytes)) {
      if (!a.bytes) continue;
      if (a.field === ATTRIBUTE.t || a.field === ATTRIBUTE.tensors) parseTensor(a.bytes, out);
      else if (a.field === ATTRIBUTE.sparseTensor || a.field === ATTRIBUTE.sparseTensors) walkSparse(a.bytes, out);
      else if (a.field === ATTRIBUTE.g || a.field === ATTRIBUTE.graphs) walkGraph(a.bytes, out, depth + 1);
    }
  }
}

/** Parses the model and returns its external-data references (not yet checked against the disk). */
export function parseOnnx(buf: Buffer): OnnxInfo {
  let irVersion: bigint | undefined;
  let graphs = 0;
  const out: ExternalDataRef[] = [];
  for (const f of readFields(buf)) {
    if (f.field === MODEL.irVersion && f.varint !== undefined) irVersion = f.varint;
    else if (f.field === MODEL.graph && f.bytes) {
      graphs++;
      walkGraph(f.bytes, out, 0);
    } else if (f.field === MODEL.functions && f.bytes) {
      for (const g of readFields(f.bytes)) if (g.field === FUNCTION.node && g.bytes) walkNode(g.bytes, out, 0);
    } else if (f.field === MODEL.trainingInfo && f.bytes) {
      for (const g of readFields(f.bytes)) if (g.bytes && (g.field === TRAINING.initialization || g.field === TRAINING.algorithm)) walkGraph(g.bytes, out, 0);
    }
  }
  if (irVersion === undefined || irVersion < 1n || irVersion > MAX_IR_VERSION) throw bad('bad_ir_version', `ir_version ${irVersion ?? '(missing)'} is not 1..${MAX_IR_VERSION}`);
  if (graphs !== 1) throw bad('bad_graph', `model has ${graphs} graphs, expected 1`);
  return { irVersion: Number(irVersion), externalData: out };
}

/** Every external-data location must stay inside `modelRoot` and point at enough bytes of a real file. */
export async function checkExternalData(modelFile: string, modelRoot: string, refs: ExternalDataRef[]): Promise<void> {
  const base = dirname(resolve(modelFile));
  const root = resolve(modelRoot);
  for (const r of refs) {
    const problem = relativePathProblem(r.location);
    if (problem) throw bad('external_data_escape', `tensor ${r.tensor}: external data location ${JSON.stringify(r.location)}: ${problem}`);
    const target = resolve(base, r.location);
    const rel = relative(root, target);
    if (rel === '' || rel.startsWith('..' + sep) || rel === '..' || resolve(rel) === rel) {
      throw bad('external_data_escape', `tensor ${r.tensor}: external data ${JSON.stringify(r.location)} resolves outside the model directory`);
    }
    let st;
    try {
      st = await lstat(target);
    } catch {
      throw bad('external_data_missing', `tensor ${r.tensor}: external data file ${r.location} does not exist`);
    }
    if (!st.isFile()) throw bad('external_data_escape', `tensor ${r.tensor}: ${r.location} is not a regular file (symlinks are refused: they can point anywhere)`);
    if (r.offset + (r.length ?? 0) > st.size) throw bad('external_data_bounds', `tensor ${r.tensor}: offset ${r.offset} + length ${r.length ?? 0} exceeds ${r.location} (${st.size} bytes)`);
  }
}
