// Typed failures of the dataset registry and of dataset signing and verification. Each name says what failed.
import { BadRequest, Conflict, Forbidden, NotFound } from '../../core/errors.js';
import type { RecordChange } from './records.js';

/** The signed statement is not an in-toto Statement v1 with a dataset-manifest predicate we understand. */
export class DatasetManifestInvalid extends Forbidden {
  constructor(message: string) {
    super('dataset_manifest_invalid', message);
  }
}

/** A dataset without a signature bundle: anonymous data is refused. */
export class DatasetUnsigned extends Forbidden {
  constructor() {
    super('dataset_unsigned', 'a dataset is accepted only with a signature bundle (DSSE in-toto statement) from a registered data source');
  }
}

/** The manifest names a source that is not registered, is retired, or whose key did not sign it. */
export class UntrustedDataSource extends Forbidden {
  constructor(message: string) {
    super('untrusted_data_source', message);
  }
}

export interface RecordMismatch extends RecordChange {
  file: string;
}

export interface RenamedDataFile {
  from: string;
  to: string;
}

/** The files on disk differ from the signed manifest: every differing file, and each differing record when known, is named. */
export class DatasetManifestMismatch extends Forbidden {
  readonly changed: string[];
  readonly added: string[];
  readonly removed: string[];
  readonly renamed: RenamedDataFile[];
  readonly records: RecordMismatch[];
  constructor(diff: { changed: string[]; added: string[]; removed: string[]; renamed: RenamedDataFile[]; records: RecordMismatch[] }) {
    const parts: string[] = [];
    if (diff.changed.length) parts.push(`changed: ${diff.changed.join(', ')}`);
    if (diff.renamed.length) parts.push(`renamed: ${diff.renamed.map((r) => `${r.from} -> ${r.to}`).join(', ')}`);
    if (diff.added.length) parts.push(`added (not signed): ${diff.added.join(', ')}`);
    if (diff.removed.length) parts.push(`missing (signed but absent): ${diff.removed.join(', ')}`);
    if (diff.records.length) parts.push(`records: ${diff.records.slice(0, 10).map(describeRecord).join(', ')}${diff.records.length > 10 ? `, and ${diff.records.length - 10} more` : ''}`);
    super('dataset_manifest_mismatch', `dataset files do not match the signed manifest; ${parts.join('; ')}`);
    this.changed = diff.changed;
    this.added = diff.added;
    this.removed = diff.removed;
    this.renamed = diff.renamed;
    this.records = diff.records;
  }
}

export function describeRecord(r: RecordMismatch): string {
  return `${r.file} record ${r.index} ${r.kind}${r.line !== undefined ? ` (line ${r.line})` : ''}`;
}

/** The record sidecar does not rebuild the signed record root: it cannot be used to name records. */
export class RecordSidecarInvalid extends BadRequest {
  constructor(message: string) {
    super('record_sidecar_invalid', message);
  }
}

export class DatasetNotFound extends NotFound {
  constructor(id: string) {
    super('dataset_not_found', `no dataset ${id}`);
  }
}

export class DataSourceNotFound extends NotFound {
  constructor(id: string) {
    super('data_source_not_found', `no data source ${id}`);
  }
}

export class DataSourceExists extends Conflict {
  constructor(id: string) {
    super('data_source_exists', `data source ${id} is already registered`);
  }
}

/** Same name and version registered again (with any digest): versions are immutable. */
export class DatasetVersionExists extends Conflict {
  constructor(name: string, version: string) {
    super('dataset_version_exists', `${name}@${version} is already registered; register a new version`);
  }
}

/** The manifest keeps the data longer than its classification allows (placement.classes.<class>.retention). */
export class DatasetRetentionTooLong extends BadRequest {
  constructor(retention: string, classification: string, allowed: string) {
    super('retention_exceeds_class', `the manifest's retention ${retention} is longer than ${classification} data may be kept here (placement.classes.${classification}.retention: ${allowed}); sign a manifest with a retention of at most ${allowed}`, 'retention');
  }
}

export class DatasetInvalidTransition extends Conflict {
  constructor(id: string, from: string, action: string) {
    super('invalid_transition', `dataset ${id} is ${from}; cannot ${action}`);
  }
}

/** The records hold data more sensitive than the signed declaration (e.g. card numbers in a `public` dataset). */
export class DatasetClassificationMismatch extends Forbidden {
  constructor(message: string) {
    super('dataset_classification_mismatch', message);
  }
}

/** The PDP said no to trainOn: this model may not train on this dataset. */
export class TrainOnDenied extends Forbidden {
  constructor(message: string) {
    super('train_on_denied', message);
  }
}

/** A verified dataset's file on the gateway host no longer hashes to its signed records: nothing of it is served. */
export class DatasetChangedOnDisk extends Conflict {
  constructor(message: string) {
    super('dataset_changed_on_disk', message);
  }
}

/** The data read API serves only training tokens (issued by POST /admin/v1/training-tokens), never other credentials. */
export class TrainingTokenRequired extends Forbidden {
  constructor() {
    super('training_token_required', 'dataset records are read with a training token (warden data token); this credential is not one');
  }
}

/** The training token does not name this dataset: its dataset list is a ceiling. */
export class DatasetNotInTokenScope extends Forbidden {
  constructor(id: string) {
    super('dataset_not_in_token_scope', `this training token does not name dataset ${id}`);
  }
}

/** Only a verified dataset whose files the gateway hashed can be read through it. */
export class DatasetNotReadable extends Conflict {
  constructor(id: string, why: string) {
    super('dataset_not_readable', `dataset ${id} cannot be read through the gateway: ${why}`);
  }
}

/** No training run of that id in the caller's tenant (another tenant's runs are not revealed). */
export class TrainingRunNotFound extends NotFound {
  constructor(runId: string) {
    super('training_run_not_found', `no training run ${runId}`);
  }
}

/** A training run ends once: by an admin, or when its token expires. */
export class TrainingRunEnded extends Conflict {
  constructor(runId: string, outcome: string | null) {
    super('training_run_ended', `training run ${runId} has already ended (${outcome ?? 'unknown'})`);
  }
}

/** The training token names only a slice of this dataset (some files, a record range), and the read is outside it. */
export class DatasetSliceDenied extends Forbidden {
  constructor(message: string) {
    super('dataset_slice_denied', message);
  }
}

/** A screen report is recorded against a dataset whose digest is not the one of the files screened. */
export class ScreenDigestMismatch extends Conflict {
  constructor(screened: string, dataset: string, id: string) {
    super('screen_digest_mismatch', `the screened files hash to ${screened}, not to ${id}'s digest ${dataset}: screen the dataset's own files`);
  }
}

/** A dataset is registered as derived from a retired one: a retired version feeds nothing new. */
export class DatasetParentRetired extends Conflict {
  constructor(parent: string) {
    super('dataset_parent_retired', `dataset ${parent} is retired: a new dataset cannot be derived from it`);
  }
}

/** The PDP said no to evaluateOn: this model may not be evaluated on this dataset. */
export class EvaluateOnDenied extends Forbidden {
  constructor(message: string) {
    super('evaluate_on_denied', message);
  }
}
