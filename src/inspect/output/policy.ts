// A deployment's output policy: the output rules its answers must keep (e.g. a summarizer emits no SQL) and
// the canary planted in its system prompt that must never come back.
import type { Canary } from './canary.js';

export interface OutputPolicy {
  rules: string[];
  canary: Canary | null;
}
