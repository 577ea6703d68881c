// The inference listener's routes, declared as data: each names its method, its path and the PDP action it
// asks for. The gateway dispatches from this table only, so a route cannot exist without an entry here
// (the differential test in test/e2e/differential.test.ts fails for a route missing from its table).
import type { Action } from '../core/types.js';

export type RouteName =
  | 'chat'
  | 'completions'
  | 'embeddings'
  | 'models'
  | 'token'
  | 'tools.list'
  | 'tools.invoke'
  | 'tools.approval'
  | 'tools.jwks'
  | 'mcp'
  | 'mcp.metadata'
  | 'oauth.metadata'
  | 'a2a'
  | 'a2a.card'
  | 'attestation.challenge'
  | 'attestation.key'
  | 'vector_stores.create'
  | 'vector_stores.list'
  | 'vector_stores.get'
  | 'vector_stores.delete'
  | 'vector_stores.files.add'
  | 'vector_stores.files.list'
  | 'vector_stores.search'
  | 'vector_stores.files.get'
  | 'files.upload'
  | 'files.list'
  | 'files.get'
  | 'files.content'
  | 'files.delete'
  | 'datasets.records';

export interface RouteDecl {
  name: RouteName;
  method: 'GET' | 'POST' | 'DELETE';
  /** Exact path, or a pattern whose first group is the resource id. */
  path: string | RegExp;
  action: Action | string;
}

export const INFERENCE_ROUTES: readonly RouteDecl[] = [
  { name: 'chat', method: 'POST', path: '/v1/chat/completions', action: 'chat' },
  { name: 'completions', method: 'POST', path: '/v1/completions', action: 'complete' },
  { name: 'embeddings', method: 'POST', path: '/v1/embeddings', action: 'embed' },
  { name: 'models', method: 'GET', path: '/v1/models', action: 'listModels' },
  { name: 'token', method: 'POST', path: '/v1/token', action: 'exchangeToken' },
  { name: 'tools.list', method: 'GET', path: '/v1/tools', action: 'listTools' },
  { name: 'tools.invoke', method: 'POST', path: /^\/v1\/tools\/([^/]+)\/invoke$/, action: 'callTool' },
  { name: 'tools.approval', method: 'GET', path: /^\/v1\/tools\/approvals\/([^/]+)$/, action: 'readApproval' },
  { name: 'tools.jwks', method: 'GET', path: '/v1/tools/jwks', action: 'readJwks' },
  { name: 'mcp', method: 'POST', path: '/mcp', action: 'mcp' },
  { name: 'mcp.metadata', method: 'GET', path: /^\/\.well-known\/oauth-protected-resource(\/mcp)?$/, action: 'readMetadata' },
  { name: 'oauth.metadata', method: 'GET', path: '/.well-known/oauth-authorization-server', action: 'readMetadata' },
  // Agent-to-agent calls (src/agents): JSON-RPC relayed to a registered agent, and its card pointing through Warden.
  { name: 'a2a', method: 'POST', path: /^\/a2a\/([^/]+)$/, action: 'callAgent' },
  { name: 'a2a.card', method: 'GET', path: /^\/a2a\/([^/]+)\/\.well-known\/agent-card\.json$/, action: 'readAgentCard' },
  { name: 'attestation.challenge', method: 'POST', path: '/v1/attestation/challenge', action: 'attest' },
  { name: 'attestation.key', method: 'POST', path: '/v1/attestation/key', action: 'releaseKey' },
  // Retrieval (src/data/retrieval): OpenAI's vector store API; a search returns only chunks the PDP allows the caller.
  { name: 'vector_stores.create', method: 'POST', path: '/v1/vector_stores', action: 'createVectorStore' },
  { name: 'vector_stores.list', method: 'GET', path: '/v1/vector_stores', action: 'readVectorStore' },
  { name: 'vector_stores.get', method: 'GET', path: /^\/v1\/vector_stores\/([^/]+)$/, action: 'readVectorStore' },
  { name: 'vector_stores.delete', method: 'DELETE', path: /^\/v1\/vector_stores\/([^/]+)$/, action: 'writeVectorStore' },
  { name: 'vector_stores.files.add', method: 'POST', path: /^\/v1\/vector_stores\/([^/]+)\/files$/, action: 'writeVectorStore' },
  { name: 'vector_stores.files.list', method: 'GET', path: /^\/v1\/vector_stores\/([^/]+)\/files$/, action: 'readVectorStore' },
  { name: 'vector_stores.search', method: 'POST', path: /^\/v1\/vector_stores\/([^/]+)\/search$/, action: 'readVectorStore' },
  { name: 'vector_stores.files.get', method: 'GET', path: /^\/v1\/vector_stores\/([^/]+\/files\/[^/]+)$/, action: 'readVectorStore' },
  // OpenAI's Files API, for content added to a vector store by file_id (text files only; sealed; kept a day by default).
  { name: 'files.upload', method: 'POST', path: '/v1/files', action: 'uploadFile' },
  { name: 'files.list', method: 'GET', path: '/v1/files', action: 'readFile' },
  { name: 'files.get', method: 'GET', path: /^\/v1\/files\/([^/]+)$/, action: 'readFile' },
  { name: 'files.content', method: 'GET', path: /^\/v1\/files\/([^/]+)\/content$/, action: 'readFile' },
  { name: 'files.delete', method: 'DELETE', path: /^\/v1\/files\/([^/]+)$/, action: 'deleteFile' },
  // Training data read by a training job's token (src/data/datasets/training-access.ts); trainOn asked per read.
  { name: 'datasets.records', method: 'GET', path: /^\/v1\/datasets\/([^/]+)\/records$/, action: 'trainOn' },
];

export type RetrievalRouteName = Extract<RouteName, `vector_stores.${string}` | `files.${string}`>;
