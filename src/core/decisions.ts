// Decisions at enforcement points that honour no obligation (retrieval's stores, files and chunks).
import type { Decision } from './types.js';

/**
 * An allow that carries an obligation becomes a refusal naming it, never an allow whose duty is dropped (the
 * policy plane's rule: an obligation the enforcement point cannot honour is a denial). A denial is returned as it is.
 */
export function withoutDuties(d: Decision, where: string): Decision {
  if (!d.allow || d.obligations.length === 0) return d;
  return { ...d, allow: false, obligations: [], reasons: [`unenforceable obligation ${d.obligations.join(', ')} (${where} honours none)`] };
}
