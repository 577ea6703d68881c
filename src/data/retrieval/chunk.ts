// Splitting a file's text into chunks, OpenAI's "static" chunking strategy in its units: tokens, estimated as
// four characters each (no tokenizer for every embedding model exists here). Cuts prefer whitespace.
import { BadRequest } from '../../core/errors.js';

export interface ChunkingStrategy {
  maxTokens: number;
  overlapTokens: number;
}

/** OpenAI's defaults for the static strategy (max_chunk_size_tokens 800, chunk_overlap_tokens 400). */
export const DEFAULT_CHUNKING: ChunkingStrategy = { maxTokens: 800, overlapTokens: 400 };
const CHARS_PER_TOKEN = 4;

/** `chunking_strategy` as the API takes it: absent, `{type:"auto"}` or `{type:"static", static:{...}}`. */
export function parseChunkingStrategy(v: unknown): ChunkingStrategy {
  if (v === undefined || v === null) return DEFAULT_CHUNKING;
  const o = v as { type?: unknown; static?: { max_chunk_size_tokens?: unknown; chunk_overlap_tokens?: unknown } };
  if (typeof v !== 'object' || Array.isArray(v)) throw new BadRequest('invalid_field', 'chunking_strategy must be an object', 'chunking_strategy');
  if (o.type === 'auto') return DEFAULT_CHUNKING;
  if (o.type !== 'static' || !o.static || typeof o.static !== 'object') throw new BadRequest('invalid_field', 'chunking_strategy.type must be "auto" or "static" (with static.max_chunk_size_tokens)', 'chunking_strategy');
  const max = o.static.max_chunk_size_tokens;
  const overlap = o.static.chunk_overlap_tokens ?? 0;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 16 || max > 4096) throw new BadRequest('invalid_field', 'max_chunk_size_tokens must be an integer from 16 to 4096', 'chunking_strategy.static.max_chunk_size_tokens');
  if (typeof overlap !== 'number' || !Number.isInteger(overlap) || overlap < 0 || overlap > max / 2) throw new BadRequest('invalid_field', 'chunk_overlap_tokens must be an integer from 0 to half of max_chunk_size_tokens', 'chunking_strategy.static.chunk_overlap_tokens');
  return { maxTokens: max, overlapTokens: overlap };
}

export function chunkText(text: string, s: ChunkingStrategy = DEFAULT_CHUNKING): string[] {
  const max = s.maxTokens * CHARS_PER_TOKEN;
  const step = Math.max(1, max - s.overlapTokens * CHARS_PER_TOKEN);
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + max);
    if (end < text.length) {
      const ws = text.lastIndexOf(' ', end);
      if (ws > start + max / 2) end = ws;
    }
    const piece = text.slice(start, end).trim();
    if (piece) out.push(piece);
    if (end >= text.length) break;
    start = Math.max(start + 1, Math.min(end, start + step));
  }
  return out;
}
