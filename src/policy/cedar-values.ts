// Plain JS values → typed Cedar JSON, driven by the schema. Cedar's JSON value format cannot tell a
// string from an entity reference or a decimal by itself, so without this step `resource.tenant`
// would silently be a String and `==` against an entity would be false rather than an error.
import { isIP } from 'node:net';
import type { CedarValueJson } from './cedar-wasm.js';
import type { SchemaType, WardenSchema } from './schema.js';

export class CedarValueMismatch extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'CedarValueMismatch';
  }
}

const DECIMAL_TEXT = /^-?\d{1,15}\.\d{1,4}$/;

/** Cedar decimal: at most 4 fractional digits (Cedar RFC 0012). Numbers are rounded to 4 places. */
export function toCedarDecimal(value: number | string, path: string): CedarValueJson {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || Math.abs(value) >= 1e14) throw new CedarValueMismatch(path, 'decimal out of range');
    text = value.toFixed(4);
  } else if (DECIMAL_TEXT.test(value)) text = value;
  else throw new CedarValueMismatch(path, `not a decimal: ${JSON.stringify(value)}`);
  return { __extn: { fn: 'decimal', arg: text } };
}

/** Cedar ipaddr from an address or CIDR (IPv4 or IPv6, no zone ids: Cedar rejects them). */
export function toCedarIp(value: string, path: string): CedarValueJson {
  // Zone ids (fe80::1%eth0) pass node's isIP but not Cedar's ip(): refuse them here.
  if (value.includes('%')) throw new CedarValueMismatch(path, `IP zone ids are not supported: ${JSON.stringify(value)}`);
  const [addr, prefix, ...rest] = value.split('/');
  const family = isIP(addr ?? '');
  const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
  if (family === 0 || rest.length > 0 || !prefixOk) throw new CedarValueMismatch(path, `not an IP address: ${JSON.stringify(value)}`);
  return { __extn: { fn: 'ip', arg: value } };
}

function compareJson(a: CedarValueJson, b: CedarValueJson): number {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function toCedarValue(schema: WardenSchema, declared: SchemaType, value: unknown, path: string): CedarValueJson {
  const t = schema.resolve(declared);
  switch (t.type) {
    case 'String':
      if (typeof value !== 'string') throw new CedarValueMismatch(path, 'expected a string');
      return value;
    case 'Long':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new CedarValueMismatch(path, 'expected an integer');
      return value;
    case 'Bool':
    case 'Boolean':
      if (typeof value !== 'boolean') throw new CedarValueMismatch(path, 'expected a boolean');
      return value;
    case 'decimal':
      if (typeof value !== 'number' && typeof value !== 'string') throw new CedarValueMismatch(path, 'expected a decimal');
      return toCedarDecimal(value, path);
    case 'ipaddr':
      if (typeof value !== 'string') throw new CedarValueMismatch(path, 'expected an IP address string');
      return toCedarIp(value, path);
    case 'Set': {
      if (!Array.isArray(value)) throw new CedarValueMismatch(path, 'expected an array (Cedar set)');
      const el = (t as { element: SchemaType }).element;
      // Sorted so equal sets give equal cache keys; Cedar sets are unordered, so this changes no decision.
      return value.map((v, i) => toCedarValue(schema, el, v, `${path}[${i}]`)).sort(compareJson);
    }
    case 'Record':
      return toCedarRecord(schema, (t as { attributes: Record<string, SchemaType> }).attributes, value, path);
    case 'Entity': {
      const name = (t as { name: string }).name;
      if (typeof value === 'string') return { __entity: { type: name, id: value } };
      if (value && typeof value === 'object' && (value as { type?: unknown }).type === name && typeof (value as { id?: unknown }).id === 'string')
        return { __entity: { type: name, id: (value as { id: string }).id } };
      throw new CedarValueMismatch(path, `expected a ${name} id`);
    }
    default:
      throw new CedarValueMismatch(path, `schema type ${t.type} is not supported by Warden`);
  }
}

/** A record: every required attribute present, no attribute the schema does not declare (strict, like the validator). */
export function toCedarRecord(
  schema: WardenSchema,
  attributes: Record<string, SchemaType>,
  value: unknown,
  path: string,
): Record<string, CedarValueJson> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new CedarValueMismatch(path, 'expected an object');
  const input = value as Record<string, unknown>;
  for (const k of Object.keys(input)) {
    if (!(k in attributes) && input[k] !== undefined) throw new CedarValueMismatch(`${path}.${k}`, 'attribute not declared in the schema');
  }
  const out: Record<string, CedarValueJson> = {};
  // Schema order (sorted by Cedar), so equal records serialize identically for cache keys.
  for (const [k, at] of Object.entries(attributes)) {
    const v = input[k];
    if (v === undefined) {
      if (at.required !== false) throw new CedarValueMismatch(`${path}.${k}`, 'required attribute missing');
      continue;
    }
    out[k] = toCedarValue(schema, at, v, `${path}.${k}`);
  }
  return out;
}
