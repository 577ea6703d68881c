// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time goes: self time by function and by
// group (a src/ folder, an npm package, a node: subsystem, GC), and time attributed to the innermost Warden
// frame on the stack (a src/ function plus the library and node code it called), which is the view that
// names the Warden code responsible for TLS, hashing or JSON work done on its behalf. Only the samples in
// a given time window count, so start-up and shutdown stay out of the figures.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Milliseconds of samples inside the window. */
  windowMs: number;
  sampleCount: number;
  busyMs: number;
  idleMs: number;
  byGroup: [string, number][];
  byWardenFolder: [string, number][];
  topSelf: [string, number][];
  topWarden: [string, number][];
}

const repo = process.cwd();
const maps = new Map<string, SourceMap | null>();

function sourceMapFor(jsFile: string): SourceMap | null {
  if (!maps.has(jsFile)) {
    const mapFile = jsFile + '.map';
    maps.set(jsFile, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))) : null);
  }
  return maps.get(jsFile)!;
}

/** `src/gateway/gateway.ts:123` for compiled Warden code (through its source map), a short form otherwise. */
export function location(f: CallFrame): string {
  const line = f.lineNumber + 1;
  if (f.url.startsWith('file://')) {
    const file = fileURLToPath(f.url);
    const map = sourceMapFor(file);
    const entry = map?.findEntry(f.lineNumber, f.columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
    if (entry?.originalSource !== undefined && entry.originalLine !== undefined) {
      const src = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : resolve(dirname(file), entry.originalSource);
      return `${relative(repo, src)}:${entry.originalLine + 1}`;
    }
    const nm = file.lastIndexOf('node_modules/');
    return `${nm >= 0 ? file.slice(nm + 'node_modules/'.length) : relative(repo, file)}:${line}`;
  }
  return f.url ? `${f.url}:${line}` : '';
}

/** The bucket a frame's own time is counted in. */
export function group(f: CallFrame): string {
  if (!f.url) {
    if (f.functionName === '(garbage collector)') return 'GC';
    if (f.functionName === '(program)') return 'V8/native outside JS (program)';
    if (f.functionName === '(idle)') return '(idle)';
    // Builtins and node's C++ bindings (JSON.parse, RegExp, a socket's writev, postMessage) carry no URL.
    return 'native (V8 builtins, node bindings)';
  }
  if (f.url.startsWith('node:')) {
    // node:_http_server -> node:http, node:internal/streams/readable -> node:streams.
    const seg = f.url.replace(/^node:(internal\/)?/, '').split('/')[0]!;
    return `node:${seg.startsWith('_') ? seg.slice(1).split('_')[0] : seg}`;
  }
  if (f.url.startsWith('wasm://')) return 'WebAssembly (Cedar)';
  if (f.url.startsWith('file://')) {
    const file = fileURLToPath(f.url);
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
    if (nm) return `npm:${nm[1]}`;
    const src = /\/dist\/(src\/[^/]+)\//.exec(file) ?? /\/dist\/(src)\/[^/]+$/.exec(file);
    if (src) return src[1]!;
    return relative(repo, file);
  }
  return f.url;
}

export function isWarden(f: CallFrame): boolean {
  return f.url.startsWith('file://') && /\/dist\/src\//.test(f.url) && !f.url.includes('/node_modules/');
}

export function fnKey(f: CallFrame): string {
  return `${f.functionName || '(anonymous)'} ${location(f)}`.trim();
}

function add(m: Map<string, number>, k: string, v: number): void {
  m.set(k, (m.get(k) ?? 0) + v);
}

function sorted(m: Map<string, number>, n: number): [string, number][] {
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
}

/**
 * Summarizes the samples whose timestamps (V8's monotonic clock, in µs — the clock process.hrtime reads on
 * Linux) fall in [fromUs, toUs].
 */
export function summarizeProfile(p: CpuProfile, fromUs: number, toUs: number): ProfileSummary {
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // The innermost Warden frame above each node (memoized: stacks share prefixes).
  const wardenOf = new Map<number, ProfileNode | null>();
  const innermostWarden = (id: number): ProfileNode | null => {
    if (wardenOf.has(id)) return wardenOf.get(id)!;
    const n = nodes.get(id)!;
    const pid = parent.get(id);
    const w = isWarden(n.callFrame) ? n : pid === undefined ? null : innermostWarden(pid);
    wardenOf.set(id, w);
    return w;
  };

  const byGroup = new Map<string, number>();
  const byFolder = new Map<string, number>();
  const self = new Map<string, number>();
  const warden = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  let count = 0;
  let t = p.startTime;
  const stamps = p.timeDeltas.map((d) => (t += d));
  for (let i = 0; i < p.samples.length; i++) {
    const at = stamps[i]!;
    if (at < fromUs || at > toUs) continue;
    // A sample stands for the time until the next one.
    const ms = ((stamps[i + 1] ?? at) - at) / 1000;
    const n = nodes.get(p.samples[i]!)!;
    const g = group(n.callFrame);
    count++;
    if (g === '(idle)') {
      idle += ms;
      continue;
    }
    busy += ms;
    add(byGroup, g, ms);
    add(self, fnKey(n.callFrame), ms);
    const w = innermostWarden(n.id);
    if (w) {
      add(byFolder, group(w.callFrame), ms);
      add(warden, fnKey(w.callFrame), ms);
    } else {
      add(byFolder, `(no Warden frame on the stack) ${g}`, ms);
    }
  }
  if (count === 0) throw new Error(`the profile has no samples in the load window (profile ${p.startTime}–${p.endTime} µs, window ${fromUs}–${toUs} µs)`);
  return {
    windowMs: (toUs - fromUs) / 1000,
    sampleCount: count,
    busyMs: busy,
    idleMs: idle,
    byGroup: sorted(byGroup, 20),
    byWardenFolder: sorted(byFolder, 20),
    topSelf: sorted(self, 30),
    topWarden: sorted(warden, 25),
  };
}

export function profileMarkdown(s: ProfileSummary): string {
  const pct = (ms: number) => `${((100 * ms) / s.busyMs).toFixed(1)}%`;
  const table = (title: string, head: string, rows: [string, number][]) => [
    `| ${head} | ms | % of busy |`,
    '|---|---|---|',
    ...rows.map(([k, ms]) => `| ${k.replace(/\|/g, '\\|')} | ${ms.toFixed(0)} | ${pct(ms)} |`),
    '',
  ].map((l, i) => (i === 0 ? `**${title}**\n\n${l}` : l));
  return [
    `Samples in the load window: ${s.sampleCount} over ${s.windowMs.toFixed(0)} ms; the thread was busy ${s.busyMs.toFixed(0)} ms (${((100 * s.busyMs) / (s.busyMs + s.idleMs)).toFixed(0)}%) and idle ${s.idleMs.toFixed(0)} ms. Percentages are of busy time.`,
    '',
    ...table('Self time by group', 'group (src/ folder, npm package, node: subsystem)', s.byGroup),
    ...table('Time by the innermost Warden frame on the stack, by src/ folder (Warden code plus the library and node code it called)', 'src/ folder', s.byWardenFolder),
    ...table('Top functions by self time', 'function', s.topSelf),
    ...table('Top Warden functions by time attributed to the innermost Warden frame', 'Warden function', s.topWarden),
  ].join('\n');
}
