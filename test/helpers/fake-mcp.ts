// A FAKE MCP tool server (an external service, not Warden code), on the official SDK over Streamable HTTP:
// it lists `served.tools` as they are at each request (tests change them under Warden: a rug pull), and
// answers tools/call by adding `a` and `b`, counting the calls that arrived.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as McpServer } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

export interface ServedTools {
  tools: Record<string, unknown>[];
  calls: number;
}

export async function startFakeMcpServer(served: ServedTools): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => void (async () => {
      const mcp = new McpServer({ name: 'calc', version: '1.0.0' }, { capabilities: { tools: {} } });
      mcp.setRequestHandler(ListToolsRequestSchema, () => ({ tools: served.tools as never }));
      mcp.setRequestHandler(CallToolRequestSchema, (r) => {
        served.calls++;
        const a = r.params.arguments as { a: number; b: number };
        return { content: [{ type: 'text' as const, text: String(a.a + a.b) }] };
      });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => void mcp.close());
      await mcp.connect(transport as never);
      await transport.handleRequest(req, res, raw ? JSON.parse(raw) : undefined);
    })());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
