// The tool registry: definitions checked when they are written (names, JSON Schema compiled by ajv,
// risk, backend URL inside the declared egress, egress origins), and a compiled argument validator
// per tool version so a call never compiles a schema.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Clock } from '../core/clock.js';

import { findDestination, parseDestination, parseTarget } from '../network/egress-destinations.js';
import type { ToolBackend, ToolRecord, ToolRisk, ToolStore } from '../store/tools-store.js';
import { announceToolChange, StoreMirror, type SharedTools } from './changes.js';
import { ToolArgumentsInvalid, ToolDefinitionInvalid, ToolNotFound } from './errors.js';
import { parseSandboxBackend, SANDBOX_INPUT_SCHEMA } from './sandbox/definition.js';

const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;

export const TOOL_NAME_RE = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/; // OpenAI function names: [a-zA-Z0-9_-]{1,64}
const RISKS: readonly ToolRisk[] = ['read', 'write', 'destructive', 'external'];
const METHODS = ['POST', 'GET', 'PUT', 'PATCH', 'DELETE'] as const;
const GROUP_RE = /^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$/;

export type ToolDefinition = Omit<ToolRecord, 'createdAt' | 'updatedAt' | 'version'>;

function fail(field: string, message: string): never {
  throw new ToolDefinitionInvalid(`${field}: ${message}`, field);
}

function stringList(v: unknown, field: string, re?: RegExp): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || (re && !re.test(x)))) fail(field, 'must be a list of strings' + (re ? ' matching ' + re.source : ''));
  return [...new Set(v as string[])];
}

/** Parses the JSON body of an admin request (snake_case, as the API speaks) into a checked definition. */
export function parseToolDefinition(body: Record<string, unknown>, ajv: Ajv, nameFromPath?: string): ToolDefinition {
  const name = nameFromPath ?? body.name;
  if (typeof name !== 'string' || !TOOL_NAME_RE.test(name)) fail('name', `must match ${TOOL_NAME_RE.source}`);
  if (nameFromPath !== undefined && body.name !== undefined && body.name !== nameFromPath) fail('name', 'differs from the name in the path');
  const description = body.description ?? '';
  if (typeof description !== 'string' || description.length > 4096) fail('description', 'must be a string of at most 4096 characters');
  const risk = body.risk;
  if (!RISKS.includes(risk as ToolRisk)) fail('risk', `must be one of ${RISKS.join(', ')}`);
  const sandbox = isSandboxBackend(body.backend);
  const schema = sandbox ? SANDBOX_INPUT_SCHEMA : body.input_schema ?? { type: 'object', properties: {}, additionalProperties: false };
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) fail('input_schema', 'must be a JSON Schema object');
  if ((schema as { type?: unknown }).type !== 'object') fail('input_schema', 'the arguments of a tool are an object: type must be "object"');
  try {
    ajv.compile(schema);
  } catch (e) {
    fail('input_schema', `does not compile: ${(e as Error).message}`);
  }
  const egress = stringList(body.egress, 'egress');
  egress.forEach((d, i) => parseDestination(d, `egress/${i}`));
  const backend = sandbox ? parseSandboxBackend(body.backend as Record<string, unknown>, egress, body.input_schema, fail) : parseBackend(body.backend, egress);
  const needs = body.needs_approval ?? false;
  if (typeof needs !== 'boolean') fail('needs_approval', 'must be a boolean');
  // A destructive tool always waits for a human: no definition can switch that off.
  const needsApproval = needs || risk === 'destructive';
  const tenant = body.tenant ?? null;
  if (tenant !== null && (typeof tenant !== 'string' || !GROUP_RE.test(tenant))) fail('tenant', 'must be a tenant id or null');
  return {
    name,
    description,
    inputSchema: schema as Record<string, unknown>,
    risk: risk as ToolRisk,
    needsApproval,
    backend,
    egress,
    grantees: stringList(body.grantees, 'grantees', GROUP_RE),
    tenant: tenant as string | null,
  };
}

function isSandboxBackend(v: unknown): boolean {
  return v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'sandbox';
}

function parseBackend(v: unknown, egress: string[]): ToolBackend {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('backend', 'must be {type: "http", url, method?}, {type: "mcp", url, tool} or {type: "sandbox", limits?}');
  const b = v as Record<string, unknown>;
  if (typeof b.url !== 'string') fail('backend/url', 'is required');
  // The backend's own origin must be declared: the registry never holds a tool that cannot run.
  // A URL template ({arg} placeholders) is checked at call time, after substitution.
  if (!b.url.includes('{')) {
    let t;
    try {
      t = parseTarget(b.url);
    } catch (e) {
      fail('backend/url', (e as Error).message);
    }
    if (!findDestination(egress.map((d) => parseDestination(d)), t)) fail('backend/url', `its origin ${t.origin} is not among the declared egress destinations`);
  }
  if (b.type === 'http') {
    const method = b.method ?? 'POST';
    if (!METHODS.includes(method as never)) fail('backend/method', `must be one of ${METHODS.join(', ')}`);
    return { type: 'http', url: b.url, method: method as (typeof METHODS)[number] };
  }
  if (b.type === 'mcp') {
    if (b.url.includes('{')) fail('backend/url', 'an MCP server URL cannot be a template');
    const tool = b.tool;
    if (typeof tool !== 'string' || tool.length === 0 || tool.length > 128) fail('backend/tool', 'must name the tool on the MCP server');
    return { type: 'mcp', url: b.url, tool };
  }
  fail('backend/type', 'must be "http", "mcp" or "sandbox"');
}

/** Public view of a tool (admin API, CLI): no secrets live in a definition, so all of it. */
export function toolView(t: ToolRecord): Record<string, unknown> {
  return {
    name: t.name,
    description: t.description,
    input_schema: t.inputSchema,
    risk: t.risk,
    needs_approval: t.needsApproval,
    backend: t.backend,
    egress: t.egress,
    grantees: t.grantees,
    tenant: t.tenant,
    version: t.version,
    created_at: new Date(t.createdAt).toISOString(),
    updated_at: new Date(t.updatedAt).toISOString(),
  };
}

/**
 * The registry keeps every tool in memory (a mirror of the store) for the synchronous paths that only
 * look (listing, filtering a model's proposed calls); an execution and every admin read ask the store, so
 * a call never runs against a definition another replica has changed. With a shared store the mirror
 * follows the change feed ('tool' announcements, 'resync' after a lost listener) and is reloaded every
 * `reloadMs` as a safety net.
 */
export class ToolRegistry {
  readonly ajv: Ajv;
  private readonly validators = new Map<string, { version: number; validate: ValidateFunction }>();
  private readonly mirror: StoreMirror<ToolRecord>;

  constructor(
    private readonly store: ToolStore,
    private readonly clock: Clock,
    private readonly shared: SharedTools | null = null,
  ) {
    // strict: unknown keywords in a schema are refused at registration instead of silently ignored.
    this.ajv = addFormats(new Ajv({ allErrors: false, strict: true, allowUnionTypes: true }));
    this.mirror = new StoreMirror((name) => store.getTool(name), async () => new Map((await store.listTools()).map((t) => [t.name, t])), shared);
  }

  /** Fills the mirror from the store (at start, and after a resync). */
  load(): Promise<void> {
    return this.mirror.load();
  }

  /** Tells the other replicas (and this one) that `name` changed; the change is committed already. */
  private async announce(name: string): Promise<void> {
    await this.mirror.refresh(name);
    await announceToolChange(this.shared, name);
  }

  async create(def: ToolDefinition): Promise<ToolRecord> {
    const now = this.clock.now();
    const t = await this.store.insertTool({ ...def, createdAt: now, updatedAt: now });
    await this.announce(t.name);
    return t;
  }

  async update(def: ToolDefinition, expectedVersion?: number): Promise<ToolRecord> {
    const r = await this.store.updateTool({ ...def, updatedAt: this.clock.now() }, expectedVersion);
    if (!r) throw new ToolNotFound(def.name);
    await this.announce(r.name);
    return r;
  }

  async remove(name: string): Promise<void> {
    if (!(await this.store.deleteTool(name))) throw new ToolNotFound(name);
    this.validators.delete(name);
    await this.announce(name);
  }

  /** The stored definition (what an execution or an admin reads). */
  async get(name: string): Promise<ToolRecord> {
    const t = TOOL_NAME_RE.test(name) ? await this.mirror.refresh(name) : null;
    if (!t) throw new ToolNotFound(name);
    return t;
  }

  /** The definition as this replica last saw it, for paths that only look (never for an execution). */
  peek(name: string): ToolRecord {
    const t = this.mirror.peek(name);
    if (!t) throw new ToolNotFound(name);
    return t;
  }

  /** Every tool as this replica last saw it, by name. */
  list(): ToolRecord[] {
    return [...this.mirror.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Every stored tool (admin reads). */
  async listStored(): Promise<ToolRecord[]> {
    await this.load();
    return this.list();
  }

  close(): void {
    this.mirror.close();
  }

  parse(body: Record<string, unknown>, nameFromPath?: string): ToolDefinition {
    return parseToolDefinition(body, this.ajv, nameFromPath);
  }

  /** Validates call arguments against the tool's schema; throws 400 naming the failing JSON Pointer. */
  validateArgs(tool: ToolRecord, args: unknown): Record<string, unknown> {
    if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new ToolArgumentsInvalid('the arguments must be a JSON object', '/');
    let v = this.validators.get(tool.name);
    if (!v || v.version !== tool.version) {
      v = { version: tool.version, validate: this.ajv.compile(tool.inputSchema) };
      this.validators.set(tool.name, v);
    }
    if (!v.validate(args)) {
      const e = v.validate.errors?.[0];
      const missing = e?.keyword === 'required' ? `/${(e.params as { missingProperty: string }).missingProperty}` : '';
      const extra = e?.keyword === 'additionalProperties' ? `/${(e.params as { additionalProperty: string }).additionalProperty}` : '';
      const path = (e?.instancePath ?? '') + missing + extra || '/';
      throw new ToolArgumentsInvalid(`arguments${path === '/' ? '' : path} ${e?.message ?? 'are invalid'}`, path);
    }
    return args as Record<string, unknown>;
  }
}

