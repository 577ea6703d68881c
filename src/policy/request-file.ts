// Requests written as files: policy test cases (`*.test.yaml`) and `warden policy explain --request`.
// The file speaks in Warden terms (principal, findings, MFA age); it is turned into a PdpRequest through
// buildContext, the same path the gateway uses, so a test exercises what production evaluates.
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv';
import { parse as parseYaml } from 'yaml';
import { BadRequest } from '../core/errors.js';
import type { Action, Finding, Findings, Principal, Resource } from '../core/types.js';
import { DEFAULT_SCHEME, LEVEL_NAME, type ClassificationScheme } from '../inspect/classification.js';
import { buildContext } from './context.js';
import type { StoredEntityInput } from './entities.js';
import type { PdpRequest } from './pdp.js';
import type { WardenSchema } from './schema.js';

const Ajv = AjvModule as unknown as typeof AjvModule.default;

export class RequestFileInvalid extends BadRequest {
  constructor(file: string, message: string) {
    super('policy_request_file_invalid', `${file}: ${message}`);
  }
}

/** One request in a file. Unset context fields come from the file's `defaults`, then from built-in defaults. */
export interface RequestSpec {
  name?: string;
  principal: {
    kind: Principal['kind'];
    id: string;
    tenant: string;
    groups?: string[];
    admin?: boolean;
    authn?: { method?: Principal['authn']['method']; credentialId?: string; mfaAgeSeconds?: number; certFingerprint?: string };
    actor?: { kind: Principal['kind']; id: string; tenant: string }[];
  };
  action: Action;
  resource: { type: Resource['type']; id: string; attrs?: Record<string, unknown> };
  now?: string;
  sourceIp?: string;
  listener?: string;
  tenant?: string;
  region?: string;
  purpose?: string;
  riskScore?: number;
  maxTokens?: number;
  toolArgs?: Record<string, unknown>;
  /** null or absent: nothing inspected. */
  findings?: { classification?: Findings['classification']; injectionScore?: number; pii?: string[]; secrets?: string[]; fromToolResult?: boolean } | null;
}

export interface TestCaseSpec extends Partial<RequestSpec> {
  name: string;
  expect: { decision: 'allow' | 'deny'; obligations?: string[]; policyIds?: string[] };
}

export interface TestFileSpec {
  entities?: StoredEntityInput[];
  defaults?: Partial<RequestSpec>;
  cases: TestCaseSpec[];
}

export interface ExplainFileSpec extends RequestSpec {
  entities?: StoredEntityInput[];
}

const requestProperties = {
  name: { type: 'string' },
  principal: {
    type: 'object',
    required: ['kind', 'id', 'tenant'],
    additionalProperties: false,
    properties: {
      kind: { enum: ['user', 'service', 'agent'] },
      id: { type: 'string', minLength: 1 },
      tenant: { type: 'string', minLength: 1 },
      groups: { type: 'array', items: { type: 'string' } },
      admin: { type: 'boolean' },
      authn: {
        type: 'object',
        additionalProperties: false,
        properties: {
          method: { enum: ['api_key', 'oidc', 'saml', 'mtls', 'http_signature', 'jit_token', 'bootstrap'] },
          credentialId: { type: 'string' },
          mfaAgeSeconds: { type: 'integer', minimum: 0 },
          certFingerprint: { type: 'string' },
        },
      },
      actor: {
        type: 'array',
        items: {
          type: 'object',
          required: ['kind', 'id', 'tenant'],
          additionalProperties: false,
          properties: { kind: { enum: ['user', 'service', 'agent'] }, id: { type: 'string' }, tenant: { type: 'string' } },
        },
      },
    },
  },
  action: { type: 'string' },
  resource: {
    type: 'object',
    required: ['type', 'id'],
    additionalProperties: false,
    properties: { type: { type: 'string' }, id: { type: 'string' }, attrs: { type: 'object' } },
  },
  now: { type: 'string' },
  sourceIp: { type: 'string' },
  listener: { type: 'string' },
  tenant: { type: 'string' },
  region: { type: 'string' },
  purpose: { type: 'string' },
  riskScore: { type: 'number' },
  maxTokens: { type: 'integer' },
  toolArgs: { type: 'object' },
  findings: {
    type: ['object', 'null'],
    additionalProperties: false,
    properties: {
      // One of the configured levels (requestFromSpec checks it against the scheme it is given).
      classification: { type: 'string', pattern: LEVEL_NAME.source },
      injectionScore: { type: 'number' },
      pii: { type: 'array', items: { type: 'string' } },
      secrets: { type: 'array', items: { type: 'string' } },
      fromToolResult: { type: 'boolean' },
    },
  },
};
const entitySchema = {
  type: 'object',
  required: ['type', 'id'],
  additionalProperties: false,
  properties: {
    type: { type: 'string' },
    id: { type: 'string' },
    attrs: { type: 'object' },
    parents: { type: 'array', items: { type: 'object', required: ['type', 'id'], properties: { type: { type: 'string' }, id: { type: 'string' } } } },
  },
};
const testFileSchema = {
  type: 'object',
  required: ['cases'],
  additionalProperties: false,
  properties: {
    entities: { type: 'array', items: entitySchema },
    defaults: { type: 'object', additionalProperties: false, properties: requestProperties },
    cases: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['name', 'expect'], // principal, action, resource may come from `defaults`
        additionalProperties: false,
        properties: {
          ...requestProperties,
          expect: {
            type: 'object',
            required: ['decision'],
            additionalProperties: false,
            properties: {
              decision: { enum: ['allow', 'deny'] },
              obligations: { type: 'array', items: { type: 'string' } },
              policyIds: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
  },
};
const explainFileSchema = {
  type: 'object',
  required: ['principal', 'action', 'resource'],
  additionalProperties: false,
  properties: { ...requestProperties, entities: { type: 'array', items: entitySchema } },
};

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const checkTestFile = ajv.compile<TestFileSpec>(testFileSchema);
const checkExplainFile = ajv.compile<ExplainFileSpec>(explainFileSchema);

function readStructured(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new RequestFileInvalid(file, `does not parse: ${(e as Error).message}`);
  }
}

export function readTestFile(file: string): TestFileSpec {
  const data = readStructured(file);
  if (!checkTestFile(data)) throw new RequestFileInvalid(file, ajv.errorsText(checkTestFile.errors));
  return data;
}

export function readExplainFile(file: string): ExplainFileSpec {
  const data = readStructured(file);
  if (!checkExplainFile(data)) throw new RequestFileInvalid(file, ajv.errorsText(checkExplainFile.errors));
  return data;
}

/** Built-in defaults: a weekday morning, a private address, the inference listener. */
const DEFAULT_NOW = '2025-01-15T10:00:00Z';

function parseLevel(levels: ClassificationScheme, v: string, where: string): string {
  if (!levels.has(v)) throw new RequestFileInvalid(where, `findings.classification ${JSON.stringify(v)} is not one of ${levels.levels.join(', ')}`);
  return v;
}

export function requestFromSpec(spec: Partial<RequestSpec>, defaults: Partial<RequestSpec>, schema: WardenSchema, where: string, levels: ClassificationScheme = DEFAULT_SCHEME): PdpRequest {
  const merged = { ...defaults, ...spec };
  for (const k of ['principal', 'action', 'resource'] as const) {
    if (merged[k] === undefined) throw new RequestFileInvalid(where, `no ${k} (neither in the case nor in defaults)`);
  }
  const s = merged as RequestSpec;
  const nowText = s.now ?? DEFAULT_NOW;
  const now = Date.parse(nowText);
  if (!Number.isFinite(now)) throw new RequestFileInvalid(where, `now is not an ISO 8601 time: ${JSON.stringify(nowText)}`);
  const a = s.principal.authn ?? {};
  const principal: Principal = {
    kind: s.principal.kind,
    id: s.principal.id,
    tenant: s.principal.tenant,
    groups: s.principal.groups ?? [],
    admin: s.principal.admin ?? false,
    authn: {
      method: a.method ?? 'oidc',
      credentialId: a.credentialId ?? 'test-credential',
      ...(a.mfaAgeSeconds !== undefined ? { mfaAt: now - a.mfaAgeSeconds * 1000 } : {}),
      ...(a.certFingerprint !== undefined ? { certFingerprint: a.certFingerprint } : {}),
    },
    scope: { models: ['*'], actions: ['*'] },
    ...(s.principal.actor ? { actor: s.principal.actor } : {}),
  };
  let findings: Findings | null = null;
  if (s.findings) {
    const item = (category: Finding['category'], type: string): Finding => ({ category, type, start: 0, end: 0, confidence: 1 });
    findings = {
      classification: s.findings.classification === undefined ? levels.builtIn.internal : parseLevel(levels, s.findings.classification, where),
      injectionScore: s.findings.injectionScore ?? 0,
      injectionSignals: [],
      items: [...(s.findings.pii ?? []).map((t) => item('pii', t)), ...(s.findings.secrets ?? []).map((t) => item('secret', t))],
    };
  }
  const context = buildContext(
    {
      principal,
      now,
      sourceIp: s.sourceIp ?? '10.0.0.10',
      listener: s.listener ?? 'inference',
      findings,
      fromToolResult: s.findings?.fromToolResult === true,
      riskScore: s.riskScore ?? 0,
      tenant: s.tenant ?? principal.tenant,
      ...(s.maxTokens !== undefined ? { maxTokens: s.maxTokens } : {}),
      ...(s.region !== undefined ? { region: s.region } : {}),
      ...(s.purpose !== undefined ? { purpose: s.purpose } : {}),
      ...(s.toolArgs !== undefined ? { toolArgs: s.toolArgs } : {}),
    },
    schema,
  );
  return { principal, action: s.action, resource: s.resource, context };
}
