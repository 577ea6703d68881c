// RFC 8785 (JCS) canonical JSON: the one canonicalizer, used for ledger entries, digests and receipts.
//
// Hand-written instead of the `canonicalize` package because it runs on every request (each ledger entry) and
// the package measured about twice as slow on an audit entry (bench/results/gateway-profile.md: it was 2–3% of
// the gateway's event loop). The fast path copies the value with its keys inserted in sorted order and lets
// the engine's JSON.stringify write it: JCS serializes strings and numbers exactly as ECMAScript's
// JSON.stringify does (RFC 8785 §3.2.2), so only the property order is JCS's own. An object whose keys
// include array indices ("0", "17") cannot be ordered that way (engines enumerate those first, numerically),
// so such a value is written by the slower string builder below. test/core/canonical-json.test.ts checks both
// against the `canonicalize` package on generated values.

class IndexKeys extends Error {}

/** Array-index keys ("0" … "4294967294") are enumerated before every other key whatever the insertion order. */
function isIndexKey(k: string): boolean {
  const c = k.charCodeAt(0);
  if (c < 48 || c > 57) return false;
  if (k.length > 1 && c === 48) return false;
  for (let i = 1; i < k.length; i++) {
    const d = k.charCodeAt(i);
    if (d < 48 || d > 57) return false;
  }
  return Number(k) < 4294967295;
}

function checkNumber(n: number): void {
  if (Number.isNaN(n)) throw new TypeError('NaN cannot be canonicalized');
  if (!Number.isFinite(n)) throw new TypeError('Infinity cannot be canonicalized');
}

/** Omitted from an object and null in an array, as JSON.stringify does. */
function isAbsent(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function sortedCopy(v: unknown): unknown {
  if (v === null) return null;
  switch (typeof v) {
    case 'number':
      checkNumber(v);
      return v;
    case 'string':
    case 'boolean':
      return v;
    case 'object':
      break;
    case 'bigint':
      throw new TypeError('a BigInt cannot be canonicalized');
    default:
      return undefined;
  }
  const o = v as { toJSON?: unknown };
  if (typeof o.toJSON === 'function') return sortedCopy((o.toJSON as () => unknown).call(o));
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      out[i] = isAbsent(x) ? null : sortedCopy(x);
    }
    return out;
  }
  const keys = Object.keys(v).sort();
  // No prototype: a "__proto__" member (JSON.parse makes it an own property) stays a member, not a prototype.
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of keys) {
    const x = (v as Record<string, unknown>)[k];
    if (isAbsent(x)) continue;
    if (isIndexKey(k)) throw new IndexKeys();
    out[k] = sortedCopy(x);
  }
  return out;
}

/** The general writer: any key order, one string at a time. */
function write(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number') checkNumber(v);
    if (typeof v === 'bigint') throw new TypeError('a BigInt cannot be canonicalized');
    return JSON.stringify(v);
  }
  const o = v as { toJSON?: unknown };
  if (typeof o.toJSON === 'function') return write((o.toJSON as () => unknown).call(o));
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      s += (i === 0 ? '' : ',') + (isAbsent(x) ? 'null' : write(x));
    }
    return s + ']';
  }
  let s = '';
  for (const k of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (isAbsent(x)) continue;
    s += (s.length === 0 ? '' : ',') + JSON.stringify(k) + ':' + write(x);
  }
  return '{' + s + '}';
}

export function canonicalJson(value: unknown): string {
  if (isAbsent(value)) throw new TypeError('value cannot be canonicalized (undefined, a function or a symbol)');
  try {
    return JSON.stringify(sortedCopy(value));
  } catch (e) {
    if (!(e instanceof IndexKeys)) throw e;
    return write(value);
  }
}
