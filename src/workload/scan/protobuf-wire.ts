// Just enough of the protobuf wire format (protobuf.dev/programming-guides/encoding) to walk an ONNX
// model without a schema compiler: varints, fixed 32/64, length-delimited fields. Groups are
// refused; ONNX never uses them.
import { MalformedArtifact } from './types.js';

export interface WireField {
  field: number;
  wireType: 0 | 1 | 2 | 5;
  /** Varint value (wire type 0), as bigint to keep 64-bit values exact. */
  varint?: bigint;
  /** Bytes for wire type 2 (a view into the input, not a copy). */
  bytes?: Buffer;
}

const bad = (m: string) => new MalformedArtifact('onnx.malformed', m);

export function* readFields(buf: Buffer): Generator<WireField> {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) throw bad('truncated varint');
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw bad('varint longer than 10 bytes');
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (field === 0) throw bad('field number 0');
    if (wireType === 0) yield { field, wireType, varint: varint() };
    else if (wireType === 1 || wireType === 5) {
      const n = wireType === 1 ? 8 : 4;
      if (pos + n > buf.length) throw bad('truncated fixed field');
      pos += n;
      yield { field, wireType };
    } else if (wireType === 2) {
      const len = varint();
      if (len > BigInt(buf.length - pos)) throw bad(`length-delimited field ${field} runs past its message`);
      const n = Number(len);
      yield { field, wireType, bytes: buf.subarray(pos, pos + n) };
      pos += n;
    } else throw bad(`wire type ${wireType} (groups or invalid) in field ${field}`);
  }
}
