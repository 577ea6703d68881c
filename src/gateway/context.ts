// The one request context every stage reads and extends (DESIGN: "Every stage has the same shape").
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Action, Decision, Findings, Principal } from '../core/types.js';
import type { Lease } from '../network/limits.js';
import type { UpstreamTarget } from './upstream.js';

export type Endpoint = 'chat' | 'completions' | 'embeddings' | 'models' | 'token';

export interface RequestContext {
  requestId: string;
  /** process.hrtime.bigint() at arrival. */
  startedAt: bigint;
  /** Wall-clock ms at arrival (from the Clock). */
  receivedAt: number;
  req: IncomingMessage;
  socket: TLSSocket;
  sourceIp: string;
  listener: 'inference' | 'admin';
  endpoint: Endpoint;
  action: Action;
  /** The request body exactly as received (forwarded unchanged unless an obligation changed it). */
  rawBody: Buffer;
  /** Parsed JSON body (POST endpoints). */
  body: Record<string, unknown>;
  model: string | null;
  stream: boolean;
  principal?: Principal;
  lease?: Lease;
  findings?: Findings;
  decision?: Decision;
  target?: UpstreamTarget;
  /** The registered deployment the route stage chose (absent for unregistered config upstreams). */
  deployment?: { id: string; artifactDigest: string };
  /** Model tokens used, from the upstream's usage. */
  modelTokens: number;
  /** Set when the pipeline ended the request: the stage that did. */
  stage?: string;
  /** Placement the policy obliged (`route:tier=onprem`); the route stage refuses an upstream that does not meet it. */
  routeRequirements?: { attr: 'tier' | 'region'; value: string }[];
  /** Finding categories/types the policy obliged to redact from the answer (`redact:pii` → `pii`). */
  redactTargets?: string[];
  /** SHA-256 digests (sha256:hex) of the request body and the response body. */
  requestDigest?: string;
  responseDigest?: string;
}
