import type { EmbeddingMatrix } from '../embed';
import type { ItemFilter, ItemWithState, Store } from '../store';
import type { ItemColumns } from './item-columns';

/** The file formats an export can write; see {@link EXPORT_FORMATS} for what each one is. */
export type ExportFormat = 'arrow' | 'arrow-stream' | 'parquet' | 'webdataset' | 'coco' | 'coco-captions';

/** Parquet page compression. `snappy` is the default: every Parquet reader has it, and it is fast. */
export type ParquetCompression = 'snappy' | 'zstd' | 'gzip' | 'none';

/** Embedding vectors of a dataset, as the embedding engine loads them (`ids` ascending: joined to items in one pass). */
export type { EmbeddingMatrix };

/** The embeddings to add as a column: a matrix, or a function that loads it (called only once the output is known to be writable). */
export type EmbeddingInput = EmbeddingMatrix | (() => Promise<EmbeddingMatrix>);

/** What an export reads: a dataset folder and its store (the `Dataset` facade has this shape). */
export interface ExportSource {
  readonly root: string;
  readonly store: Store;
  /** The absolute path of an item's image file. */
  pathOf(item: { uri: string }): string;
}

/** Options of {@link toArrowTable} (`ds.toArrow`). */
export interface ArrowTableOptions {
  /** Which items; deleted items are left out unless `where.deleted` is true. The same filter as `ds.items`. */
  where?: ItemFilter;
  /** Adds an `embedding` column (FixedSizeList<Float32>[dim]); items without a vector get null. */
  embeddings?: EmbeddingInput;
  /** Rows per Arrow record batch (default 65,536; exports default to what suits the format: 16,384 for Parquet, 1,024 for WebDataset). */
  batchRows?: number;
}

export interface ExportProgress {
  format: ExportFormat;
  /** Rows read from the store and handed to the writer so far. */
  rows: number;
  /** Rows the filter matched when the export started. */
  totalRows: number;
  /** Bytes written to the output so far. */
  bytes: number;
}

/** Options of {@link exportDataset} (`ds.export`, `quicksort export`). */
export interface ExportOptions extends ArrowTableOptions {
  format: ExportFormat;
  /**
   * Where to write: a file for `arrow`, `arrow-stream`, `parquet`, `coco` and `coco-captions`; a folder for `webdataset`
   * (shards and the class list go inside it). Written under a temporary name beside it, renamed into place
   * at the end.
   */
  out: string;
  /** Replace an existing output (default: refuse it). */
  force?: boolean;
  /** Parquet compression (default `snappy`). */
  compression?: ParquetCompression;
  /** Parquet rows per row group (default: about 128 MiB of uncompressed data, between 4,096 and 1,048,576 rows). */
  rowGroupRows?: number;
  /** WebDataset: the most bytes in one shard (default 1 GB); a sample is never split, so one larger sample gets a shard of its own. */
  shardBytes?: number;
  /** WebDataset: the most samples in one shard (default 100,000). */
  shardSamples?: number;
  /** WebDataset: the shard name prefix, `NAME-000000.tar` (default: the output folder's name). */
  shardName?: string;
  onProgress?: (progress: ExportProgress) => void;
  signal?: AbortSignal;
}

/** An item the export skipped, with the reason (e.g. its image file is gone). */
export interface SkippedItem {
  id: number;
  uri: string;
  reason: string;
}

export interface ExportReport {
  format: ExportFormat;
  /** The absolute path of the output (a file, or the folder of shards). */
  output: string;
  /** Rows (items) written. */
  rows: number;
  /** Bytes written, over all files. */
  bytes: number;
  /** The files written, relative to `output` for a folder; `[output]` for a single file. */
  files: string[];
  /** The class list, in the order the class indices refer to. */
  classes: string[];
  /** Dimension of the embedding column, or null when there is none. */
  embeddingDim: number | null;
  /** Items left out (the first 1,000), and how many in all. */
  skipped: SkippedItem[];
  skippedCount: number;
  /** `coco` on a dataset imported from COCO: the export went through the COCO bridge. */
  viaCocoBridge: boolean;
  seconds: number;
}

// ---- the exporter port ------------------------------------------------------------------------------------

/** Embedding rows of one batch: `values` holds `rows × dim` floats, row `i` for the batch's item `i`. */
export interface BatchEmbeddings {
  dim: number;
  values: Float32Array;
  /** 1 where the item has a vector, 0 where not (its row is zeros); null when every item has one. */
  present: Uint8Array | null;
}

/**
 * A batch of items, in id order, as the store had them when the export started: the items themselves
 * (for exporters whose `input` is `items`), or their column buffers, read in another thread (for those whose
 * `input` is `columns`).
 */
export type ExportBatch = ItemBatch | ColumnBatch;

export interface ItemBatch {
  readonly items: readonly ItemWithState[];
  readonly columns?: undefined;
  readonly embeddings: BatchEmbeddings | null;
}

export interface ColumnBatch {
  readonly columns: ItemColumns;
  readonly items?: undefined;
  readonly embeddings: BatchEmbeddings | null;
}

/** What a writer is given when it opens. */
export interface ExportContext {
  source: ExportSource;
  /** The temporary path to write: a file path, or an existing empty folder for folder formats. */
  path: string;
  /** The final output path (for names derived from it, e.g. shard names); never written directly. */
  finalPath: string;
  options: Readonly<ExportOptions>;
  /** The classes of the dataset; a label's class index is its position here. */
  classes: readonly string[];
  /** Rows the filter matched when the export started. */
  totalRows: number;
  embeddingDim: number | null;
  /** Extra metadata to record where the format has a place for it (e.g. the embedding model). */
  metadata: ReadonlyMap<string, string>;
  /** Report bytes as they reach the output. */
  addBytes(bytes: number): void;
  /** Report an item that could not be written; the export goes on. */
  skip(item: SkippedItem): void;
  signal: AbortSignal | undefined;
}

/**
 * A writer of one export. `write` takes batches in id order and resolves when it can take the next (so
 * memory stays bounded by a batch or two); `close` completes the output at `context.path`; `abort` releases
 * what it holds after a failure (the caller removes the temporary output).
 */
export interface ExportWriter {
  write(batch: ExportBatch): Promise<void>;
  close(): Promise<{ files: string[] }>;
  abort(): Promise<void>;
}

/**
 * How a format exports a dataset that came from a file of that format: by rewriting that file in full (COCO:
 * the original, corrected, with its ids), not through a writer of items.
 */
export interface SourceRewriter {
  /** Whether the dataset came from such a file. */
  applies(source: ExportSource): boolean;
  /** Writes the whole output at `options.output` (a temporary path that exists; the export renames it into place). */
  rewrite(
    source: ExportSource,
    options: { output: string; signal?: AbortSignal; onProgress?: (bytesDone: number) => void },
  ): Promise<{ records: number; bytes: number }>;
}

/**
 * An output format. Implementations live beside this file and are listed in the registry
 * (`registry.ts`); every one runs the same contract suite (`tests/export/exporter-contract.ts`).
 */
export interface Exporter {
  readonly format: ExportFormat;
  readonly description: string;
  /** `file`: one file at the output path; `folder`: a folder of files. */
  readonly target: 'file' | 'folder';
  /** Whether the format carries the embedding column. */
  readonly embeddings: boolean;
  /**
   * What the writer's batches carry: `columns` (Arrow column buffers, made in a store-reading thread while
   * the writer writes: for formats that write Arrow data) or `items` (objects, read on the writer's thread:
   * for formats that look at items one by one). Default `items`.
   */
  readonly input?: 'items' | 'columns';
  /** Rows per batch the writer wants, when not the caller's `batchRows` (small for formats that read image files). */
  readonly batchRows?: number;
  /** Datasets that came from a file of this format export through this instead of `open` (COCO). */
  readonly rewriter?: SourceRewriter;
  open(context: ExportContext): Promise<ExportWriter>;
}
