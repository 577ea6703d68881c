// Superseded by the request surface (surface/request.ts): kept so that existing callers work. The
// endpoint is inferred from the body's shape (`messages` → chat, `prompt` → completions, `input` →
// embeddings); new code should call requestTexts / inspectRequest with the route's endpoint.
import { BadRequest } from '../core/errors.js';
import type { Findings } from '../core/types.js';
import type { InspectOptions } from './inspect-text.js';
import { endpointOfBody, inspectRequest, requestTexts, type RequestText } from './surface/request.js';

export type { RequestText } from './surface/request.js';

function asBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('invalid_body', 'request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Every text of an OpenAI chat/completions/embeddings request body: requestTexts for the inferred endpoint. */
export function extractRequestTexts(body: unknown): RequestText[] {
  const b = asBody(body);
  return requestTexts(endpointOfBody(b), b);
}

/** inspectRequest for the inferred endpoint. */
export function inspectChatRequest(body: unknown, opts: InspectOptions = {}): Findings {
  const b = asBody(body);
  return inspectRequest(endpointOfBody(b), b, opts);
}
