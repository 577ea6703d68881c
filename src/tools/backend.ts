// Calls a tool's backend through the egress guard: an HTTP endpoint (arguments as a JSON body, or as
// the query for GET; `{arg}` placeholders in the URL filled from string arguments) or a tool on an
// MCP server (official SDK client over Streamable HTTP, its fetch replaced by the guard's).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { WardenError } from '../core/errors.js';
import type { EgressGuard, EgressPolicy } from '../network/egress.js';
import type { ServedToolDefinition, ToolRecord } from '../store/tools-store.js';
import { ToolArgumentsInvalid, ToolBackendFailed, ToolUrlSegmentInvalid } from './errors.js';

export interface BackendResult {
  /** Parsed JSON, or the text when the backend did not answer JSON. */
  value: unknown;
  /** Every string the result carries, joined: what the injection detector reads. */
  text: string;
  isError: boolean;
}

export interface BackendCall {
  tool: ToolRecord;
  /** The backend URL, templates already filled (resolveBackendUrl). */
  url: string;
  args: Record<string, unknown>;
  credential: string;
  requestId: string;
  policy: EgressPolicy;
}

/** Percent-decoding rounds tried before a value is called too deeply encoded to judge. */
const MAX_DECODE_ROUNDS = 4;

/**
 * Why a value may not stand in a URL path, or null. Judged after percent-decoding until nothing changes, so
 * `%2f`, `%2e%2e` and their double escapes (any case) count as what they decode to: a backend or proxy that
 * decodes once more must not find a traversal either.
 */
function unsafeSegment(value: string): string | null {
  if (value === '') return 'it is empty';
  let decoded = value;
  for (let i = 0; ; i++) {
    const next = decoded.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === decoded) break;
    if (i === MAX_DECODE_ROUNDS) return 'it is percent-encoded too many times';
    decoded = next;
  }
  if (decoded === '') return 'it is empty';
  if (decoded.includes('/')) return 'it contains "/"';
  if (decoded.includes('\\')) return 'it contains "\\"';
  if (decoded.includes('..')) return 'it contains ".."';
  if (decoded === '.') return 'it is "."';
  return null;
}

/**
 * The URL a call goes to: a template's `{name}` replaced by that string argument (whole URL if the template is
 * just `{name}`, checked by the egress guard). A placeholder before the query fills one path segment: a value
 * that would add, leave or empty a segment is refused (ToolUrlSegmentInvalid), never forwarded.
 */
export function resolveBackendUrl(template: string, args: Record<string, unknown>): string {
  const whole = /^\{([A-Za-z0-9_]+)\}$/.exec(template);
  const get = (name: string): string => {
    const v = args[name];
    if (typeof v !== 'string') throw new ToolArgumentsInvalid(`the backend URL needs the string argument ${name}`, `/${name}`);
    return v;
  };
  if (whole) return get(whole[1]!);
  const queryAt = template.search(/[?#]/);
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string, offset: number) => {
    const v = get(name);
    if (queryAt === -1 || offset < queryAt) {
      const why = unsafeSegment(v);
      if (why !== null) throw new ToolUrlSegmentInvalid(name, why);
    }
    return encodeURIComponent(v);
  });
}

export function collectStrings(v: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 32) return out;
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) collectStrings(x, out, depth + 1);
  else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) collectStrings(x, out, depth + 1);
  return out;
}

export async function callHttpBackend(guard: EgressGuard, c: BackendCall): Promise<BackendResult> {
  const b = c.tool.backend;
  if (b.type !== 'http') throw new TypeError('not an HTTP backend');
  let url = c.url;
  const headers: Record<string, string> = { authorization: `Bearer ${c.credential}`, 'x-request-id': c.requestId, accept: 'application/json' };
  let body: string | undefined;
  if (b.method === 'GET' || b.method === 'DELETE') {
    const u = new URL(url);
    for (const [k, v] of Object.entries(c.args)) if (!b.url.includes(`{${k}}`)) u.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
    url = u.href;
  } else {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(c.args);
  }
  const r = await guard.request(url, { method: b.method, headers, ...(body !== undefined ? { body } : {}) }, c.policy);
  if (r.status >= 400) throw new ToolBackendFailed(r.status);
  const text = r.body.toString('utf8');
  if ((r.headers['content-type'] ?? '').includes('json')) {
    try {
      const value = JSON.parse(text) as unknown;
      return { value, text: collectStrings(value).join('\n'), isError: false };
    } catch {
      throw new ToolBackendFailed(502);
    }
  }
  return { value: text, text, isError: false };
}

/** One connection to an MCP server through the egress guard, with the per-call credential; closed afterwards. */
async function withMcpClient<T>(guard: EgressGuard, c: { url: string; credential: string; requestId: string; policy: EgressPolicy }, fn: (client: Client) => Promise<T>): Promise<T> {
  const transport = new StreamableHTTPClientTransport(new URL(c.url), {
    fetch: guard.fetchFor(c.policy) as never,
    requestInit: { headers: { authorization: `Bearer ${c.credential}`, 'x-request-id': c.requestId } },
  });
  const client = new Client({ name: 'warden-tools-gateway', version: '0.1.0' });
  try {
    await client.connect(transport);
    return await fn(client);
  } catch (e) {
    if (e instanceof WardenError) throw e;
    // The SDK wraps fetch failures; the guard's refusals travel as the cause.
    let cur: unknown = e;
    for (let i = 0; i < 4 && cur; i++) {
      if (cur instanceof WardenError) throw cur;
      cur = (cur as { cause?: unknown }).cause;
    }
    throw new ToolBackendFailed(502);
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Pages of `tools/list` read before a server is taken not to list the tool. */
const MAX_LIST_PAGES = 10;

/** The server's own definition of one of its tools (`tools/list`), or null when it does not list it. */
async function servedDefinition(client: Client, tool: string): Promise<ServedToolDefinition | null> {
  let cursor: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const r = await client.listTools(cursor !== undefined ? { cursor } : undefined);
    const t = r.tools.find((x) => x.name === tool);
    if (t) return { name: t.name, description: t.description ?? '', inputSchema: t.inputSchema ?? null };
    if (!r.nextCursor) return null;
    cursor = r.nextCursor;
  }
  return null;
}

/** What the MCP server serves for the tool now (registration pins it). */
export function fetchMcpDefinition(guard: EgressGuard, c: { url: string; tool: string; credential: string; requestId: string; policy: EgressPolicy }): Promise<ServedToolDefinition | null> {
  return withMcpClient(guard, c, (client) => servedDefinition(client, c.tool));
}

/**
 * Calls the tool; first, on the same connection, `checkDefinition` judges what the server serves now against the
 * pinned definition, so a changed tool is never called under the old approval.
 */
export async function callMcpBackend(guard: EgressGuard, c: BackendCall & { checkDefinition: (served: ServedToolDefinition | null) => Promise<void> }): Promise<BackendResult> {
  const b = c.tool.backend;
  if (b.type !== 'mcp') throw new TypeError('not an MCP backend');
  return withMcpClient(guard, c, async (client) => {
    await c.checkDefinition(await servedDefinition(client, b.tool));
    const r = await client.callTool({ name: b.tool, arguments: c.args });
    const content = (r.content ?? []) as { type: string; text?: string }[];
    const strings = content.filter((x) => x.type === 'text' && typeof x.text === 'string').map((x) => x.text!);
    if (r.structuredContent) collectStrings(r.structuredContent, strings);
    return { value: { content, ...(r.structuredContent ? { structuredContent: r.structuredContent } : {}), isError: r.isError === true }, text: strings.join('\n'), isError: r.isError === true };
  });
}
