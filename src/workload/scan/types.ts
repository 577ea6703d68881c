// What a scan reports. Scanners produce facts (issues); whether a model may be registered is the
// registry's decision: any issue of any severity makes `ok` false (fail closed).

export type ScanSeverity = 'critical' | 'high' | 'medium';

/**
 * What a file's content was established to be. `text` is valid UTF-8 without NUL bytes (JSON, vocabularies,
 * model cards); `tensor-data` is a storage member of a PyTorch zip (raw bytes its data.pkl points at); `compressed` is a compression Warden cannot undo (bzip2, xz, zstd, lz4, 7z, rar) and
 * `unknown` is content that matches no format: both are reported as issues, never passed.
 */
export type ScanFormat = 'pickle' | 'zip' | 'tar' | 'gzip' | 'safetensors' | 'gguf' | 'onnx' | 'npy' | 'text' | 'tensor-data' | 'compressed' | 'unknown';

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
  /** For pickles (and archives holding them): every global the streams import (module.name), allowed or not. */
  globals?: string[];
  /** The file is also a pickle: its leading bytes parse as one (a polyglot). Its globals were judged. */
  alsoPickle?: boolean;
}

export interface ScanReport {
  scanner: string;
  ok: boolean;
  files: FileScan[];
  issues: ScanIssue[];
}

export const SCANNER_VERSION = 'warden-scan/2';

/** Thrown inside a format parser when the bytes cannot be what they claim; turned into an issue. */
export class MalformedArtifact extends Error {
  constructor(readonly rule: string, message: string) {
    super(message);
    this.name = 'MalformedArtifact';
  }
}
