// Warden as an MCP gateway at /mcp (Streamable HTTP, stateless: one SDK Server + transport per POST).
// tools/list shows only the tools the caller may call; tools/call goes through the same mediation as
// /v1/tools/{name}/invoke. Callers authenticate with Warden bearer tokens (MCP authorization spec:
// OAuth 2.1 resource server; 401s point at RFC 9728 protected-resource metadata).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { WardenError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { ToolMediator } from './mediator.js';
import type { ToolRegistry } from './registry.js';

export interface McpContext {
  principal: Principal;
  narrowedTo?: string;
  sourceIp: string;
  requestId: string;
}

export function createMcpServer(c: McpContext, registry: ToolRegistry, mediator: ToolMediator): Server {
  const server = new Server({ name: 'warden-mcp-gateway', version: '0.1.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => {
    const tools = registry
      .list()
      .filter((t) => (c.narrowedTo === undefined || c.narrowedTo === t.name) && mediator.assess(c.principal, t.name, undefined, c.sourceIp, 'mcp').allow)
      .map((t) => ({
        name: t.name,
        description: t.description,
        inputSchema: t.inputSchema as { type: 'object' },
        annotations: { readOnlyHint: t.risk === 'read', destructiveHint: t.risk === 'destructive', openWorldHint: t.risk === 'external' },
      }));
    return { tools };
  });
  let calls = 0;
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    // One HTTP request may batch several calls: each gets its own ledger entry and request id.
    const requestId = calls++ === 0 ? c.requestId : `${c.requestId}.${calls}`;
    try {
      const out = await mediator.invoke({
        principal: c.principal,
        ...(c.narrowedTo !== undefined ? { narrowedTo: c.narrowedTo } : {}),
        tool: req.params.name,
        args: req.params.arguments ?? {},
        ...(typeof req.params._meta?.['warden/approval_id'] === 'string' ? { approvalId: req.params._meta['warden/approval_id'] as string } : {}),
        sourceIp: c.sourceIp,
        requestId,
        listener: 'mcp',
      });
      if (out.kind === 'held') {
        return {
          isError: true,
          content: [{ type: 'text' as const, text: `This call needs a human approval (id ${out.approval.id}). Call again with _meta["warden/approval_id"] once it is approved.` }],
          _meta: { 'warden/approval': { id: out.approval.id, status: out.approval.status, expires_at: new Date(out.approval.expiresAt).toISOString() } },
        };
      }
      const v = out.result.value as { content?: unknown[]; structuredContent?: Record<string, unknown> };
      const meta = { 'warden/request_id': requestId, 'warden/injection_score': out.findings.injectionScore };
      if (out.result.value !== null && typeof out.result.value === 'object' && Array.isArray(v.content)) {
        return { content: v.content as never, ...(v.structuredContent ? { structuredContent: v.structuredContent } : {}), isError: out.result.isError, _meta: meta };
      }
      return { content: [{ type: 'text' as const, text: typeof out.result.value === 'string' ? out.result.value : JSON.stringify(out.result.value) }], _meta: meta };
    } catch (e) {
      // MCP reports a refused tool call as a result with isError, so the model can see why.
      const err = e instanceof WardenError ? e : null;
      return { isError: true, content: [{ type: 'text' as const, text: err ? `${err.code}: ${err.message}` : 'internal error' }], _meta: { 'warden/request_id': requestId, 'warden/error': err?.code ?? 'internal_error' } };
    }
  });
  return server;
}

export async function serveMcp(req: IncomingMessage, res: ServerResponse, body: unknown, c: McpContext, registry: ToolRegistry, mediator: ToolMediator): Promise<void> {
  const server = createMcpServer(c, registry, mediator);
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport as never);
  await transport.handleRequest(req, res, body);
}
