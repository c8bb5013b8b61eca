/**
 * QuickSort's public API.
 *
 * @example
 * import { QuickSort } from 'quicksort';
 * const ds = await QuickSort.open('photos/');
 * await ds.ingest();
 * ds.label(1, 'cat');
 * ds.undo();
 * console.log(ds.stats());
 * ds.close();
 */
export { QuickSort, Dataset, STATE_FOLDER, type DatasetProgress, type OpenOptions, type SearchHit, type SearchOptions, type TextTowerKind, type TextTrainOptions, type TextTrainReport } from './dataset';
export * from './errors';
export type {
  ActionOptions,
  ActionSource,
  Box,
  CaptionSource,
  ClassInfo,
  DatasetStats,
  IngestFailure,
  Item,
  ItemAction,
  ItemCaption,
  ItemFilter,
  ItemQuery,
  ItemState,
  ItemWithState,
  StoredEvent,
} from './store';
export { LabelStore } from './store';
export { ingestFolder, probeImage, type IngestOptions, type IngestProgress, type IngestReport, type VerifyMode } from './images';
export {
  embedDataset,
  loadEmbeddings,
  embeddedItemIds,
  loadEmbedder,
  OnnxEmbedder,
  type Embedder,
  type EmbedOptions,
  type EmbedReport,
  type EmbedProgress,
  type EmbeddingMatrix,
  type ImageSource,
} from './embed';
export {
  ActiveLearner,
  SoftmaxHead,
  OnnxScorer,
  getRanker,
  RANKER_NAMES,
  simulate,
  lineChartSvg,
  DEFAULT_TIME_MODEL,
  type RankerName,
  type SimulationOptions,
  type SimulationResult,
  type Suggestion,
} from './learn';
export {
  mapDataset,
  projectEmbeddings,
  mapSvg,
  pca,
  EmbeddingMap,
  MAP_METHODS,
  type MapOptions,
  type MapProgress,
  type MapItem,
  type MapMethod,
  type MapSvgOptions,
  type Projection,
} from './map';
export { SessionHost, LabelingSession, PROTOCOL_VERSION, type ClientMessage, type ServerMessage, type ItemView, type SessionStats } from './session';
export {
  importCoco,
  exportCoco,
  readCocoFile,
  fromCoco,
  toCoco,
  type CocoImportOptions,
  type CocoImportReport,
  type CocoExportOptions,
  type CocoExportReport,
} from './coco';
export { exportDataset, toArrowTable, type ExportOptions, type ExportReport } from './export';
export { importCaptions, type CaptionImportOptions, type CaptionImportReport, type CaptionFileFormat } from './captions';
export { openVectorIndex, UsearchIndex, QdrantIndex, type VectorIndex, type VectorIndexConfig, type PointFilter, type PointPayload } from './vectors';
export { trainDatasetText } from './text';
export {
  createVlmClient,
  resolveVlmConfig,
  suggestWithVlm,
  draftCaptions,
  vlmStats,
  DemonstrationBank,
  type VlmClient,
  type VlmConfig,
  type SuggestOptions,
  type SuggestReport,
  type CaptionOptions,
  type CaptionReport,
  type VlmStats,
} from './vlm';
