import { Table, type RecordBatch } from 'apache-arrow';
import { ExportError, InvalidArgumentError, QuickSortError } from '../errors';
import { EMBEDDING_MODEL_METADATA_KEY, itemSchema, toRecordBatch } from './arrow-batch';
import { AtomicOutput, ProtectedPaths, describeFsError } from '../output';
import { EmbeddingJoin, resolveEmbeddings } from './embeddings';
import { getExporter } from './registry';
import { openSnapshot, type Snapshot } from './snapshot';
import type { ArrowTableOptions, EmbeddingMatrix, ExportContext, ExportFormat, ExportOptions, ExportReport, ExportSource, ExportWriter, SkippedItem, SourceRewriter } from './types';
import { isWebDatasetFile } from './webdataset-exporter';

export const DEFAULT_BATCH_ROWS = 65_536;
const MAX_REPORTED_SKIPS = 1000;

/**
 * The items of a dataset as an apache-arrow Table, for notebook cells: one row per item (deleted ones left
 * out unless `where.deleted`), columns as {@link itemSchema} lists them, record batches of `batchRows`.
 *
 * @example
 * const table = await toArrowTable(ds, { where: { labeled: true }, embeddings: loadEmbeddings(ds.root) });
 * console.log(table.numRows, table.getChild('label')?.get(0));
 */
export async function toArrowTable(source: ExportSource, options: ArrowTableOptions = {}): Promise<Table> {
  const batchRows = checkBatchRows(options.batchRows);
  const matrix = await resolveEmbeddings(options.embeddings);
  const snapshot = await openSnapshot(source.store, { where: options.where ?? {}, batchRows, input: 'columns' });
  try {
    const schema = itemSchema({ embeddingDim: matrix?.dim ?? null, classes: snapshot.classes, metadata: embeddingMetadata(matrix) });
    const join = matrix ? new EmbeddingJoin(matrix) : null;
    const batches: RecordBatch[] = [];
    for await (const batch of snapshot.batches(join)) batches.push(toRecordBatch(schema, batch));
    return new Table(schema, batches);
  } finally {
    await snapshot.close();
  }
}

/**
 * Writes the items of a dataset to a file (or a folder of shards) in one of the {@link EXPORTERS}' formats,
 * streaming: a batch at a time is in memory, whatever the dataset's size. The output appears only when
 * complete (written under a temporary name, then renamed); on any failure nothing is left behind. An
 * existing output is refused unless `force`; the dataset's own files (store, images, the COCO file it came
 * from) always are, see {@link ProtectedPaths}.
 *
 * @example
 * const report = await exportDataset(ds, { format: 'parquet', out: 'labels.parquet', compression: 'zstd' });
 * console.log(`${report.rows} rows, ${report.bytes} bytes`);
 */
export async function exportDataset(source: ExportSource, options: ExportOptions): Promise<ExportReport> {
  const started = performance.now();
  const exporter = getExporter(options.format);
  const format = exporter.format;
  if (options.embeddings !== undefined && !exporter.embeddings) {
    throw new InvalidArgumentError(`the ${format} format has no place for embeddings; export them with arrow, arrow-stream or parquet`);
  }
  if (options.compression !== undefined && format !== 'parquet') {
    throw new InvalidArgumentError(`compression applies to parquet only, not to ${format}`);
  }
  const batchRows = checkBatchRows(options.batchRows ?? exporter.batchRows);
  await (await ProtectedPaths.of(source)).check(options.out);
  throwIfAborted(options.signal);
  if (exporter.rewriter?.applies(source)) return exportByRewrite(format, exporter.rewriter, source, options, started);

  const output = await AtomicOutput.prepare(options.out, exporter.target, {
    force: options.force,
    replaceable: exporter.target === 'folder' ? isWebDatasetFile : undefined,
  });
  const where = options.where ?? {};
  let snapshot: Snapshot | undefined;
  let writer: ExportWriter | undefined;
  let rows = 0;
  let bytes = 0;
  let totalRows = 0;
  const skipped: SkippedItem[] = [];
  let skippedCount = 0;
  const progress = () => options.onProgress?.({ format, rows, totalRows, bytes });
  try {
    const matrix = await resolveEmbeddings(options.embeddings);
    // Column formats read the store in another thread, overlapping the writes; item formats read it here.
    snapshot = await openSnapshot(source.store, { where, batchRows, input: exporter.input ?? 'items' });
    const classes = snapshot.classes;
    totalRows = snapshot.count;
    const context: ExportContext = {
      source,
      path: output.tempPath,
      finalPath: output.finalPath,
      options,
      classes,
      totalRows,
      embeddingDim: matrix?.dim ?? null,
      metadata: embeddingMetadata(matrix),
      addBytes: (n) => {
        bytes += n;
      },
      skip: (item) => {
        if (skipped.length < MAX_REPORTED_SKIPS) skipped.push(item);
        skippedCount++;
      },
      signal: options.signal,
    };
    writer = await exporter.open(context);
    progress();
    const join = matrix ? new EmbeddingJoin(matrix) : null;
    for await (const batch of snapshot.batches(join)) {
      throwIfAborted(options.signal);
      await writer.write(batch);
      rows += batch.columns ? batch.columns.length : batch.items.length;
      progress();
    }
    throwIfAborted(options.signal);
    const { files } = await writer.close();
    writer = undefined;
    await output.commit();
    progress();
    return {
      format,
      output: output.finalPath,
      rows: rows - skippedCount,
      bytes,
      files: exporter.target === 'file' ? [output.finalPath] : files,
      classes,
      embeddingDim: matrix?.dim ?? null,
      skipped,
      skippedCount,
      viaCocoBridge: false,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    await writer?.abort().catch(() => undefined);
    await output.discard();
    throw asExportError(error, format, output.finalPath);
  } finally {
    await snapshot?.close();
  }
}

/** A dataset that came from a file of the format (COCO) exports that file, rewritten, into the same atomic output. */
async function exportByRewrite(format: ExportFormat, rewriter: SourceRewriter, source: ExportSource, options: ExportOptions, started: number): Promise<ExportReport> {
  const output = await AtomicOutput.prepare(options.out, 'file', { force: options.force });
  const classes = source.store.classes().map((c) => c.name);
  try {
    const result = await rewriter.rewrite(source, {
      output: output.tempPath,
      signal: options.signal,
      onProgress: (bytesDone) => options.onProgress?.({ format, rows: 0, totalRows: 0, bytes: bytesDone }),
    });
    await output.commit();
    return {
      format,
      output: output.finalPath,
      rows: result.records,
      bytes: result.bytes,
      files: [output.finalPath],
      classes,
      embeddingDim: null,
      skipped: [],
      skippedCount: 0,
      viaCocoBridge: true,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    await output.discard();
    throw asExportError(error, format, output.finalPath);
  }
}

function embeddingMetadata(matrix: EmbeddingMatrix | null): Map<string, string> {
  const metadata = new Map<string, string>();
  // The embedding engine's matrix also names its model; record it so a reader knows what the vectors are.
  const modelId = matrix?.modelId;
  if (typeof modelId === 'string') metadata.set(EMBEDDING_MODEL_METADATA_KEY, modelId);
  return metadata;
}

function checkBatchRows(batchRows: number | undefined): number {
  const rows = batchRows ?? DEFAULT_BATCH_ROWS;
  if (!Number.isInteger(rows) || rows <= 0) throw new InvalidArgumentError(`batchRows must be a positive whole number; got ${String(batchRows)}`);
  return rows;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ExportError('the export was cancelled', { cause: signal.reason });
}

function asExportError(error: unknown, format: string, output: string): QuickSortError {
  if (error instanceof QuickSortError) return error;
  return new ExportError(`the ${format} export to ${output} failed: ${describeFsError(error)}; nothing was written`, { cause: error });
}
