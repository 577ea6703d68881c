// `warden policy diff`: what changes between two policy sets, by policy id.
import type { PolicyEntry } from './policy-set.js';
import { policySetVersion } from './policy-set.js';

export interface PolicySetDiff {
  oldVersion: string;
  newVersion: string;
  added: PolicyEntry[];
  removed: PolicyEntry[];
  changed: { old: PolicyEntry; new: PolicyEntry }[];
  unchanged: number;
}

export function diffPolicySets(oldSet: readonly PolicyEntry[], newSet: readonly PolicyEntry[]): PolicySetDiff {
  const before = new Map(oldSet.map((e) => [e.id, e]));
  const after = new Map(newSet.map((e) => [e.id, e]));
  const d: PolicySetDiff = { oldVersion: policySetVersion(oldSet), newVersion: policySetVersion(newSet), added: [], removed: [], changed: [], unchanged: 0 };
  for (const [id, e] of after) {
    const o = before.get(id);
    if (!o) d.added.push(e);
    else if (o.hash !== e.hash) d.changed.push({ old: o, new: e });
    else d.unchanged++;
  }
  for (const [id, e] of before) if (!after.has(id)) d.removed.push(e);
  return d;
}
