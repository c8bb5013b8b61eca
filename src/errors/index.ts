import type { VlmFailure } from '../vlm/types';

/**
 * The error hierarchy of QuickSort. Every error carries a stable `code` that scripts can branch on and an
 * `exitCode` the CLI returns; the message says what failed, the value, what was expected and what to do.
 *
 * @example
 * try { ds.label(42, "cat"); } catch (e) { if (e instanceof NotFoundError) console.log(e.code); }
 */
export type ErrorCode =
  | 'DATASET'
  | 'NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'IMAGE'
  | 'MODEL'
  | 'COCO_FORMAT'
  | 'PROTOCOL'
  | 'STORE'
  | 'CONFLICT'
  | 'EXPORT'
  | 'VLM'
  | 'BUSY';

/** Exit codes the CLI promises to scripts. 1 is left for unexpected failures, 2 for usage errors. */
const EXIT_CODES: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 2,
  DATASET: 3,
  NOT_FOUND: 4,
  CONFLICT: 5,
  IMAGE: 6,
  MODEL: 7,
  COCO_FORMAT: 8,
  EXPORT: 9,
  STORE: 10,
  PROTOCOL: 11,
  VLM: 12,
  // sysexits.h's EX_TEMPFAIL: a temporary failure, the same command may succeed when run again.
  BUSY: 75,
};

export class QuickSortError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

/** The dataset folder or its store is missing, unreadable or not a QuickSort dataset. */
export class DatasetError extends QuickSortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DATASET', message, options);
  }
}

/** An item, class or event named by the caller does not exist. */
export class NotFoundError extends QuickSortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', message, options);
  }
}

/** A value given by the caller is out of its allowed range or shape. */
export class InvalidArgumentError extends QuickSortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** An image file could not be read, decoded or is outside the limits. */
export class ImageError extends QuickSortError {
  constructor(
    message: string,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super('IMAGE', message, options);
  }
}

/** A model file or manifest is missing or does not fit the engine. */
export class ModelError extends QuickSortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MODEL', message, options);
  }
}

/** A COCO file is malformed; `field` names the offending key path where known. */
export class CocoFormatError extends QuickSortError {
  constructor(
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super('COCO_FORMAT', message, options);
  }
}

/** A message of the session protocol is malformed or not allowed in the current state. */
export class ProtocolError extends QuickSortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PROTOCOL', message, options);
  }
}

/** The SQLite store failed (locked, corrupt, disk full). */
export class StoreError extends QuickSortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE', message, options);
  }
}

/**
 * Another process held the store's write lock for longer than the busy timeout. Nothing was written: the
 * same call may succeed when run again (`retryable`).
 */
export class StoreBusyError extends QuickSortError {
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super('BUSY', message, options);
  }
}

/** Another user changed the same thing first. */
export class ConflictError extends QuickSortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFLICT', message, options);
  }
}

/** An export could not be written. */
export class ExportError extends QuickSortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EXPORT', message, options);
  }
}

/**
 * An output path would overwrite what the dataset is made of (its store, an image, the imported COCO file);
 * refused even with `--force`. An export error (exit 9) that names both paths.
 */
export class OutputError extends ExportError {
  constructor(
    message: string,
    readonly output: string,
    readonly protectedPath: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A request to the vision-language-model server failed; `failure` says how (timeout, rate_limited,
 * server_error, connection, bad_answer, refused, cancelled), for the per-item status callers report. The
 * message names the server's URL and the model, never the API key.
 */
export class VlmError extends QuickSortError {
  constructor(
    message: string,
    readonly failure: VlmFailure,
    readonly url: string,
    readonly model: string,
    /** Attempts made (1 when the first one failed for good). */
    readonly attempts: number,
    /** The HTTP status of the last attempt, where it got one. */
    readonly status: number | null = null,
    options?: { cause?: unknown },
  ) {
    super('VLM', message, options);
  }
}

/** The VLM configuration (environment, `.quicksort/vlm.json`, options) is missing or wrong; names the source and field. */
export class VlmConfigError extends InvalidArgumentError {
  constructor(
    message: string,
    /** The field, e.g. `timeoutMs` or `QUICKSORT_VLM_URL`. */
    readonly field: string,
    /** The file it came from, when it came from one. */
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The message of any thrown value, for reports. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
