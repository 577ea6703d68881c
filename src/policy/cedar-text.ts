// Writing Cedar source text safely: every string that reaches generated policy text goes through
// cedarString, so an id containing `"` or a newline cannot break out of its literal (policy injection).

/** A Cedar string literal (Cedar grammar STR: escapes as in Rust: \" \\ \n \r \t \0 \u{..}). */
export function cedarString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += `\\u{${cp.toString(16)}}`;
    else out += ch;
  }
  return out + '"';
}

/** `Type::"id"` for an entity type name that is a plain identifier. */
export function cedarEntity(type: string, id: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$/.test(type)) throw new TypeError(`not a Cedar entity type name: ${type}`);
  return `${type}::${cedarString(id)}`;
}
