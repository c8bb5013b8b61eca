/**
 * Exports: the items of a dataset as an apache-arrow Table for notebook cells, and as files — Arrow IPC
 * (file and stream), Parquet, WebDataset shards and COCO — written as a stream, atomically, from a
 * registry of {@link Exporter}s that all pass one contract suite.
 *
 * @example
 * import { exportDataset, toArrowTable } from './export';
 * const table = await toArrowTable(ds, { where: { split: 'train' } });
 * await exportDataset(ds, { format: 'webdataset', out: 'shards/train', shardBytes: 500e6 });
 */
export { toArrowTable, exportDataset, DEFAULT_BATCH_ROWS } from './export-dataset';
export { EXPORTERS, EXPORT_FORMATS, getExporter } from './registry';
export { itemSchema, toRecordBatch, CLASSES_METADATA_KEY, VERSION_METADATA_KEY, EMBEDDING_MODEL_METADATA_KEY, EXPORT_SCHEMA_VERSION } from './arrow-batch';
export { PARQUET_COMPRESSIONS, PARQUET_DICTIONARY_COLUMNS, defaultRowGroupRows } from './parquet-exporter';
export {
  DEFAULT_SHARD_BYTES,
  DEFAULT_SHARD_SAMPLES,
  CLASSES_FILE,
  SHARDS_FILE,
  shardFileName,
  sampleKey,
  sampleMetadata,
} from './webdataset-exporter';
export { AtomicOutput } from '../output';
export type { ItemColumns, Utf8Column, NullableColumn } from './item-columns';
export type * from './types';
