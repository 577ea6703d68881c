// What the ledger may keep of findings: types and counts only, never spans or values (AuditEvent.findings).
import type { Findings } from '../core/types.js';

export function countFindings(f: Findings): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of f.items) {
    const key = `${item.category}.${item.type}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
