// The parts of an HTTP request that RFC 9421 signatures and RFC 9530 digests are computed over.
export interface HttpRequestParts {
  method: string;
  /** Absolute target URI as the client addressed it, e.g. `https://gw.example:8443/v1/chat/completions?x=1`. */
  targetUri: string;
  /** Field lines by name (any case). Repeated fields as arrays, in order (Node: `req.headersDistinct`). */
  headers: Record<string, string | string[] | undefined>;
  body?: Uint8Array;
}

/** Lowercased field name → list of field line values, in message order. */
export type FieldLines = Map<string, string[]>;

export function fieldLines(headers: HttpRequestParts['headers']): FieldLines {
  const out: FieldLines = new Map();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const list = out.get(key) ?? [];
    if (Array.isArray(value)) list.push(...value);
    else list.push(value);
    out.set(key, list);
  }
  return out;
}
