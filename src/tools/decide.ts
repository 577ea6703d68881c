// The tools plane's view of the policy decision point. Planes do not import each other: the wiring
// hands in a PDP and its context builder (src/policy), and pdpToolDecider joins them, denying when
// the context cannot be built (fail closed).
import type { Decision, Findings, Principal } from '../core/types.js';
import type { ToolRecord } from '../store/tools-store.js';

export interface ToolPolicyContext {
  now: number;
  sourceIp: string;
  listener: string;
  findings: Findings | null;
  /** The findings are of the tool's result (the second decision), judged at the tool-result injection cut. */
  fromToolResult?: boolean;
  riskScore: number;
  tenant: string;
  toolArgs?: Record<string, unknown>;
}

export interface ToolPolicyRequest {
  principal: Principal;
  action: 'callTool' | 'approve';
  resource: { type: 'Tool'; id: string; attrs: Record<string, unknown> };
  context: ToolPolicyContext;
}

export type ToolDecide = (req: ToolPolicyRequest) => Decision;

/** Structural view of PolicyDecisionPoint.decide (src/policy/pdp.ts). */
export interface PdpLike<C> {
  decide(req: { principal: Principal; action: 'callTool' | 'approve'; resource: { type: 'Tool'; id: string; attrs: Record<string, unknown> }; context: C }): Decision;
  readonly version: string | null;
  readonly publishedVersion: string | null;
}

export function pdpToolDecider<C>(pdp: PdpLike<C>, buildContext: (input: ToolPolicyContext & { principal: Principal }) => C): ToolDecide {
  return (req) => {
    let context: C;
    try {
      // IPv4 peers arrive v4-mapped on dual-stack sockets; the schema's ipaddr wants the IPv4 form.
      const ip = req.context.sourceIp.startsWith('::ffff:') ? req.context.sourceIp.slice(7) : req.context.sourceIp;
      context = buildContext({ principal: req.principal, ...req.context, sourceIp: ip });
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'context_invalid';
      return { allow: false, policyIds: [], policyVersion: pdp.version ?? 'none', obligations: [], reasons: [`the policy context could not be built (${code})`] };
    }
    // Read in the same synchronous turn as the decision, so both describe one live set.
    const d = pdp.decide({ principal: req.principal, action: req.action, resource: req.resource, context });
    return { ...d, publishedVersion: pdp.publishedVersion ?? 'none' };
  };
}

/**
 * The registry's risk levels in the schema's Tool vocabulary (`risk`: low / medium / high, docs/policy.md):
 * read → low, write and external → medium, destructive → high (the starter set holds high for approval).
 */
export const CEDAR_RISK: Record<ToolRecord['risk'], 'low' | 'medium' | 'high'> = { read: 'low', write: 'medium', external: 'medium', destructive: 'high' };

/** The `server` a sandbox tool reaches: Warden's own sandbox, never a network origin. */
export const SANDBOX_SERVER = 'warden:sandbox';

export function toolResourceAttrs(t: ToolRecord): Record<string, unknown> {
  if (t.backend.type === 'sandbox') return { risk: CEDAR_RISK[t.risk], server: SANDBOX_SERVER, grantees: t.grantees };
  let server: string;
  try {
    server = new URL(t.backend.url.replace(/\{[^}]*\}/g, 'x')).origin;
  } catch {
    server = t.backend.url;
  }
  return { risk: CEDAR_RISK[t.risk], server, grantees: t.grantees };
}
