// The contract between the tools plane (registry, approvals) and its storage. SQLite implements it for
// the embedded default, PostgreSQL for replicas that share one control plane; one contract suite
// (test/store/tools-contract.test.ts) runs against both. The two state changes that must be atomic across
// every writer (decide once, consume once) are single conditional UPDATEs in both backends.

export type ToolRisk = 'read' | 'write' | 'destructive' | 'external';

export type ToolBackend =
  | { type: 'http'; url: string; method: 'POST' | 'GET' | 'PUT' | 'PATCH' | 'DELETE' }
  | { type: 'mcp'; url: string; tool: string }
  /** Warden's own code sandbox (src/tools/sandbox): no URL, no network; caps in ms and bytes. */
  | { type: 'sandbox'; language: 'javascript'; limits: { timeMs: number; memoryBytes: number; outputBytes: number } };

export interface ToolRecord {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  risk: ToolRisk;
  needsApproval: boolean;
  backend: ToolBackend;
  egress: string[];
  /** Groups granted the tool (the Cedar Tool entity's `grantees`). */
  grantees: string[];
  /** Owning tenant; null = shared. */
  tenant: string | null;
  createdAt: number;
  updatedAt: number;
  /** Bumped on every change; approvals and decisions cite it. */
  version: number;
}

/** What an MCP server says a tool is: the part of `tools/list` an agent's model reads and obeys. */
export interface ServedToolDefinition {
  name: string;
  description: string;
  inputSchema: unknown;
}

export interface ToolPinRecord {
  name: string;
  digest: string;
  definition: ServedToolDefinition;
  pinnedAt: number;
  pinnedBy: string;
  /** A definition the server served later that differs from the pin: the tool is quarantined until re-approved. */
  pending: { digest: string; definition: ServedToolDefinition; at: number } | null;
}

/** A tool taken out of service by an operator or a response playbook: every call is refused until it is released. */
export interface ToolQuarantineRecord {
  name: string;
  reason: string;
  /** Who quarantined it: an admin's principal id, or `playbook:NAME`. */
  by: string;
  at: number;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'consumed';

export interface ApprovalRecord {
  id: string;
  tool: string;
  toolVersion: number;
  requester: string;
  tenant: string;
  /** The acting agent (RFC 8693 act), null for a direct call by the user. */
  agent: string | null;
  argsDigest: string;
  /** The arguments as canonical JSON, for the approver to read. */
  argsJson: string;
  policyVersion: string;
  createdAt: number;
  expiresAt: number;
  status: ApprovalStatus;
  decidedBy: string | null;
  decidedAt: number | null;
  reason: string | null;
  consumedAt: number | null;
  requestId: string;
}

export interface ApprovalQuery {
  status?: ApprovalStatus;
  tool?: string;
  requester?: string;
  /** Oldest first unless set. */
  newestFirst?: boolean;
  /** The last row of the previous page. */
  after?: { createdAt: number; id: string };
  limit: number;
}

export interface ToolStore {
  /** Registers a new tool at the version after the highest its name ever had (1 for a name never used). Conflict `tool_exists` when registered. */
  insertTool(t: Omit<ToolRecord, 'version'>): Promise<ToolRecord>;
  /** Replaces a definition; `expectedVersion` guards against lost updates (Conflict `tool_version_mismatch`). Null when absent. */
  updateTool(t: Omit<ToolRecord, 'version' | 'createdAt'>, expectedVersion?: number): Promise<ToolRecord | null>;
  getTool(name: string): Promise<ToolRecord | null>;
  /** Every tool, by name. */
  listTools(): Promise<ToolRecord[]>;
  deleteTool(name: string): Promise<boolean>;
  /** Pins (or re-pins, clearing any quarantine) the served definition of a tool. */
  setPin(name: string, digest: string, definition: ServedToolDefinition, at: number, by: string): Promise<void>;
  /** Records a changed served definition (quarantine). The first change seen stays until an admin decides. */
  setPending(name: string, digest: string, definition: ServedToolDefinition, at: number): Promise<void>;
  getPin(name: string): Promise<ToolPinRecord | null>;
  deletePin(name: string): Promise<void>;
  /**
   * Quarantines a tool by name (kept when the tool is deleted and re-registered: only a release ends it). False
   * when it was quarantined already (the first quarantine, its reason and author, stay).
   */
  setQuarantine(q: ToolQuarantineRecord): Promise<boolean>;
  /** Releases a quarantine; the lifted record, or null when the tool was not quarantined. */
  clearQuarantine(name: string): Promise<ToolQuarantineRecord | null>;
  getQuarantine(name: string): Promise<ToolQuarantineRecord | null>;
  /** Every quarantined tool name, by name. */
  listQuarantines(): Promise<ToolQuarantineRecord[]>;
  insertApproval(a: ApprovalRecord): Promise<void>;
  getApproval(id: string): Promise<ApprovalRecord | null>;
  /**
   * One page of approvals in (created_at, id) order, oldest first unless `newestFirst`, after the `after`
   * position (keyset paging: a flood of new held calls cannot push older ones off the list or shift a page
   * under the reader).
   */
  listApprovals(q: ApprovalQuery): Promise<ApprovalRecord[]>;
  /** pending → approved | denied, once. False when the request was no longer pending. */
  decideApproval(id: string, status: 'approved' | 'denied', by: string, at: number, reason: string | null): Promise<boolean>;
  /** approved → consumed, once: the approved call executes a single time, whichever replica runs it. */
  consumeApproval(id: string, at: number): Promise<boolean>;
}
