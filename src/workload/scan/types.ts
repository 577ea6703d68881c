// What a scan reports. Scanners produce facts (issues); whether a model may be registered is the
// registry's decision: any issue of any severity makes `ok` false (fail closed).

export type ScanSeverity = 'critical' | 'high' | 'medium';

export type ScanFormat = 'pickle' | 'zip' | 'tar' | 'safetensors' | 'gguf' | 'onnx' | 'other';

export interface ScanIssue {
  /** File path relative to the scanned root; archive members as `archive.zip!member`. */
  file: string;
  /** Stable rule id, e.g. `pickle.unsafe_global`, `safetensors.overlap`, `archive.path_traversal`. */
  rule: string;
  severity: ScanSeverity;
  reason: string;
}

export interface FileScan {
  file: string;
  format: ScanFormat;
  bytes: number;
  issues: ScanIssue[];
  /** For pickles: every global the stream imports (module.name), allowed or not. */
  globals?: string[];
}

export interface ScanReport {
  scanner: string;
  ok: boolean;
  files: FileScan[];
  issues: ScanIssue[];
}

export const SCANNER_VERSION = 'warden-scan/1';

/** Thrown inside a format parser when the bytes cannot be what they claim; turned into an issue. */
export class MalformedArtifact extends Error {
  constructor(readonly rule: string, message: string) {
    super(message);
    this.name = 'MalformedArtifact';
  }
}
