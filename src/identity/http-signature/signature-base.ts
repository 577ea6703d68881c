// RFC 9421 §2.5 "Creating the Signature Base": one line per covered component
// (`"<identifier>": <value>`), then `"@signature-params": <inner list>`, joined by LF.
// Only what Warden can derive unambiguously is supported; anything else is refused rather than
// guessed, since a component the verifier computes differently from the signer is a bypass.
import { serializeInnerList, serializeItem, type InnerList, type Item } from 'structured-headers';
import { InvalidRequestSignature } from '../errors.js';
import { fieldLines, type FieldLines, type HttpRequestParts } from './request.js';

interface Target {
  method: string;
  targetUri: string;
  url: URL;
  fields: FieldLines;
}

function reject(reason: string, realm?: string): never {
  throw new InvalidRequestSignature(reason, realm);
}

/** RFC 9421 §2.2.8: parsed and re-encoded as application/x-www-form-urlencoded. Refused when the
 * name is absent or repeated (the RFC says such a parameter MUST NOT be signed individually). */
function queryParam(url: URL, encodedName: string, realm?: string): string {
  const values: string[] = [];
  for (const [name, value] of url.searchParams) {
    if (new URLSearchParams([[name, '']]).toString().slice(0, -1) === encodedName) values.push(value);
  }
  if (values.length !== 1) reject(values.length === 0 ? 'component_missing' : 'query_param_repeated', realm);
  return new URLSearchParams([['', values[0]!]]).toString().slice(1);
}

function derived(name: string, params: Item[1], t: Target, realm?: string): string {
  for (const key of params.keys()) {
    if (!(name === '@query-param' && key === 'name')) reject('component_parameter_unsupported', realm);
  }
  switch (name) {
    case '@method': // §2.2.1, case preserved
      return t.method;
    case '@target-uri': // §2.2.2
      return t.targetUri;
    case '@authority': // §2.2.3: lowercased host, default port omitted (URL does both)
      return t.url.host;
    case '@scheme': // §2.2.4
      return t.url.protocol.slice(0, -1);
    case '@request-target': // §2.2.5, origin-form
      return t.url.pathname + t.url.search;
    case '@path': // §2.2.6
      return t.url.pathname || '/';
    case '@query': // §2.2.7: "?" alone when there is no query
      return t.url.search || '?';
    case '@query-param': {
      const n: unknown = params.get('name');
      if (typeof n !== 'string') reject('component_parameter_unsupported', realm);
      return queryParam(t.url, n, realm);
    }
    default: // @status is for responses; @signature-params may not be covered (§2.3)
      return reject('component_unsupported', realm);
  }
}

function field(name: string, params: Item[1], t: Target, realm?: string): string {
  // sf, key, bs, req, tr change how the value is computed; none is supported, so none is accepted.
  if (params.size > 0) reject('component_parameter_unsupported', realm);
  const lines = t.fields.get(name);
  if (!lines) reject('component_missing', realm);
  // §2.1: trim each field line, replace obs-fold by a space, join with ", ".
  return lines.map((l) => l.replace(/\r?\n[ \t]+/g, ' ').trim()).join(', ');
}

/** Component identifiers (name + params) as compared for duplicates (§2: parameter order does not matter). */
function identity(item: Item): string {
  return JSON.stringify([item[0], [...item[1].entries()].sort(([a], [b]) => (a < b ? -1 : 1))]);
}

export function buildSignatureBase(covered: InnerList, request: HttpRequestParts, realm?: string): string {
  let url: URL;
  try {
    url = new URL(request.targetUri);
  } catch {
    return reject('target_uri_invalid', realm);
  }
  const t: Target = { method: request.method, targetUri: request.targetUri, url, fields: fieldLines(request.headers) };
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const item of covered[0]) {
    const name: unknown = item[0];
    if (typeof name !== 'string') reject('signature_input_malformed', realm);
    if (name !== name.toLowerCase()) reject('component_name_not_lowercase', realm);
    const id = identity(item);
    if (seen.has(id)) reject('component_duplicated', realm); // §2.5 step 1
    seen.add(id);
    const value = name.startsWith('@') ? derived(name, item[1], t, realm) : field(name, item[1], t, realm);
    if (/[\r\n]/.test(value)) reject('component_value_newline', realm);
    lines.push(`${serializeItem(item)}: ${value}`);
  }
  lines.push(`"@signature-params": ${serializeInnerList(covered)}`);
  return lines.join('\n');
}
