import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DatasetError, ProtocolError } from '../errors';
import { ingestFolder, type IngestOptions, type IngestReport } from '../images';
import { embedDataset, type EmbedOptions, type EmbedReport } from '../embed';
import type { LabelingWidgetHandle, WidgetOptions } from './labeling-widget';
import { exportCoco, importCoco, type CocoExportOptions, type CocoExportReport, type CocoImportOptions, type CocoImportReport } from '../coco';
import { exportDataset, toArrowTable, type ArrowTableOptions, type ExportOptions, type ExportReport } from '../export';
import type { Table } from 'apache-arrow';
import { mapDataset, type EmbeddingMap, type MapOptions } from '../map';
import { readProgress, type ProgressReport } from './progress';
import { importCaptions, type CaptionImportOptions, type CaptionImportReport } from '../captions';
import { vlmAssist, type VlmAssist, type VlmStats } from '../vlm';
import { openTextSearch, trainDatasetText, type TextSearch, type SearchHit, type SearchOptions, type TextTrainOptions, type TextTrainReport } from '../text';
import {
  LabelStore,
  STATE_FOLDER,
  STORE_FILE_NAME,
  type ActionOptions,
  type ClassInfo,
  type DatasetStats,
  type IngestFailure,
  type ItemAction,
  type ItemFilter,
  type ItemQuery,
  type ItemWithState,
  type StoredEvent,
  type StoreOptions,
} from '../store';

export interface OpenOptions extends StoreOptions {
  /** The store file; by default `DIR/.quicksort/quicksort.db`. */
  store?: string;
  /** Who is acting: recorded on every event, and whose actions undo takes back. */
  user?: string;
}

/** Long work on a dataset, as anyone following it sees it (the labeling app shows these as bars). */
export interface DatasetProgress {
  task: 'ingest' | 'embed' | 'coco import' | 'export';
  done: number;
  /** 0 while unknown (ingest still walking the folder). */
  total: number;
}


/** Makes the labeling widget of a dataset: the QuickSort kernel's `labelingWidget` (quicksort/kernel). */
export type LabelingWidgetFactory = (dataset: Dataset, options: WidgetOptions) => LabelingWidgetHandle;

/**
 * A dataset: a folder of images and the store beside it. The face that notebooks, scripts, the CLI and the
 * server use.
 *
 * @example
 * const ds = await QuickSort.open('crops/');
 * await ds.ingest();
 * ds.label(ds.items({ where: { labeled: false }, limit: 1 })[0]!.id, 'cat');
 * console.log(ds.stats());
 * ds.close();
 */
export class Dataset {
  readonly user: string;
  /** Opened on the first search, again when a newer text model is saved. */
  private textSearch: Promise<TextSearch> | undefined;
  private readonly progressListeners = new Set<(progress: DatasetProgress) => void>();
  /**
   * Class suggestions and caption drafts from a vision-language model, few-shot with the nearest labelled
   * items, stored as `vlm` events for review; see src/vlm.
   *
   * @example
   * await ds.vlm.suggest({ items: 'hard', limit: 20, url: 'http://127.0.0.1:8080/v1', model: 'qwen2.5-vl' });
   */
  readonly vlm: VlmAssist = vlmAssist(this);

  private constructor(
    readonly root: string,
    readonly store: LabelStore,
    user: string,
  ) {
    this.user = user;
  }

  /** Opens (and on first use creates) the store of the dataset in `root`. */
  static async open(root: string, options: OpenOptions = {}): Promise<Dataset> {
    const absoluteRoot = path.resolve(root);
    let isFolder = false;
    try {
      isFolder = statSync(absoluteRoot).isDirectory();
    } catch {
      isFolder = false;
    }
    if (!isFolder) throw new DatasetError(`the dataset folder ${absoluteRoot} does not exist or is not a folder; check --dataset`);
    const storeFile = options.store ? path.resolve(options.store) : path.join(absoluteRoot, STATE_FOLDER, STORE_FILE_NAME);
    if (!options.readonly) mkdirSync(path.dirname(storeFile), { recursive: true });
    const store = LabelStore.open(storeFile, options);
    return new Dataset(absoluteRoot, store, options.user ?? process.env.QUICKSORT_USER ?? 'local');
  }

  /** Adds new and changed images under the dataset folder; see {@link ingestFolder}. */
  ingest(options: IngestOptions = {}): Promise<IngestReport> {
    const onProgress = this.reporting('ingest', options.onProgress);
    return ingestFolder(this.store, this.root, { ...options, onProgress });
  }

  /**
   * Embeds the images the embedding cache does not hold yet (bundled MobileNetV2 unless `model` names a
   * manifest or a CLIP/SigLIP export); progress through `onProgress`; see {@link embedDataset}.
   */
  async embed(options: EmbedOptions = {}): Promise<EmbedReport> {
    const onProgress = this.reporting('embed', options.onProgress);
    const report = await embedDataset(this.store, this.root, { ...options, onProgress });
    // New vectors (or another model): the next search opens again, to scan them.
    this.closeSearch();
    return report;
  }

  /**
   * Cuts the boxes of a COCO file (ground truth, or detections above a score) into crops in this dataset's
   * folder and adds them with their classes as suggestions; re-running resumes; see {@link importCoco}.
   */
  importCoco(options: CocoImportOptions): Promise<CocoImportReport> {
    const onProgress = this.reporting('coco import', options.onProgress);
    return importCoco(this.store, this.root, { ...options, onProgress });
  }

  /** Writes the COCO file this dataset was imported from, with its corrections applied; see {@link exportCoco}. */
  exportCoco(options: CocoExportOptions): Promise<CocoExportReport> {
    return exportCoco(this.store, { root: this.root, ...options });
  }

  /**
   * The items as an apache-arrow Table (label, source, confidence, caption, tags, split, COCO ids, box,
   * optionally embeddings); see {@link toArrowTable}.
   *
   * @example
   * const table = await ds.toArrow({ where: { labeled: true } });
   */
  toArrow(options: ArrowTableOptions = {}): Promise<Table> {
    return toArrowTable(this, options);
  }

  /**
   * Writes the items as Arrow IPC, Parquet, WebDataset shards or COCO, streaming and atomically; a dataset
   * imported from COCO exports its corrected original through the COCO bridge; see {@link exportDataset}.
   *
   * @example
   * await ds.export({ format: 'parquet', out: 'labels.parquet' });
   */
  export(options: ExportOptions): Promise<ExportReport> {
    const onProgress = this.reporting('export', options.onProgress);
    return exportDataset(this, { ...options, onProgress });
  }

  /**
   * Follows long work on this dataset (ingest, embed, COCO import, export), whoever started it: an open
   * labeling app shows it. Returns the function that stops following.
   *
   * @example
   * const stop = ds.watchProgress(({ task, done, total }) => console.log(task, done, total));
   */
  watchProgress(listener: (progress: DatasetProgress) => void): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  /** The caller's own progress callback, also telling whoever follows this dataset. */
  private reporting<P extends ProgressReport>(task: DatasetProgress['task'], own: ((progress: P) => void) | undefined): (progress: P) => void {
    return (progress) => {
      own?.(progress);
      if (this.progressListeners.size === 0) return;
      const { done, total } = readProgress(progress);
      for (const listener of this.progressListeners) {
        try {
          listener({ task, done, total });
        } catch {
          // a follower's failure is not the work's
        }
      }
    };
  }

  /**
   * A 2-D map of the embeddings (run `embed` first): a stratified sample laid out with UMAP after PCA in a
   * worker thread, each point with its item id and label, and the SVG; shown as the map in a notebook cell.
   * See {@link mapDataset}.
   *
   * @example
   * const map = await ds.map({ sample: 5000, seed: 1 });
   * map.points[0]; // { id, x, y, label, source }
   * writeFileSync('map.svg', map.svg);
   */
  map(options: MapOptions = {}): Promise<EmbeddingMap> {
    return mapDataset(this.store, this.root, options);
  }

  /**
   * Adds captions from a file (COCO captions JSON, or `uri,caption` rows as CSV or JSON Lines) as one
   * undoable batch of this user's. See {@link importCaptions}.
   *
   * @example
   * const report = await ds.importCaptions({ file: 'annotations/captions_train2017.json' });
   */
  importCaptions(options: CaptionImportOptions): Promise<CaptionImportReport> {
    return importCaptions(this, options);
  }

  /**
   * Trains the dataset's text model on its captions (InfoNCE, in a worker thread) and saves it beside the
   * store; searches use it from then on. See {@link trainDatasetText}.
   *
   * @example
   * const report = await ds.trainText({ epochs: 40, onProgress: (p) => console.log(p.epoch, p.loss) });
   */
  trainText(options: TextTrainOptions = {}): Promise<TextTrainReport> {
    return trainDatasetText(this.root, this.store, options);
  }

  /**
   * The items that best match a description, best first, with their scores and the tower that answered: the
   * text model trained on the captions ({@link trainText}) when it was trained on the current embeddings,
   * else the text tower of the embedding model when it has one (a CLIP or SigLIP export: zero-shot, no
   * captions needed). See {@link openTextSearch}.
   *
   * @example
   * await ds.search('a dog asleep on a sofa', { k: 10, where: { labeled: false } }); // [{ id, uri, score, tower }, …]
   */
  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    return (await this.openSearch()).search(query, options);
  }

  /** The search in use; opened again when a newer trained model was saved (the one before is freed). */
  private async openSearch(): Promise<TextSearch> {
    const pending = this.textSearch;
    if (pending) {
      const current = await pending.catch(() => undefined);
      if (current && !current.isStale(this.root)) return current;
      if (this.textSearch !== pending) return this.openSearch(); // another search reopened it meanwhile
      void current?.close();
    }
    const next = openTextSearch(this.root, this.store);
    this.textSearch = next;
    // A failed open is not kept: the next search tries again (after a training, say).
    next.catch(() => {
      if (this.textSearch === next) this.textSearch = undefined;
    });
    return next;
  }

  items(query: ItemQuery = {}): ItemWithState[] {
    return this.store.items(query);
  }

  item(id: number): ItemWithState {
    return this.store.item(id);
  }

  count(where: ItemFilter = {}): number {
    return this.store.count(where);
  }

  /** The absolute path of an item's image file. */
  pathOf(item: { uri: string }): string {
    return path.join(this.root, ...item.uri.split('/'));
  }

  label(id: number, label: string, options: ActionOptions = {}): StoredEvent {
    return this.act(id, { kind: 'label', label }, options);
  }

  /** Labels many items as one batch: stored atomically, undone together. */
  labelMany(entries: { id: number; label: string }[], options: ActionOptions = {}): StoredEvent[] {
    return this.store.actMany(
      entries.map(({ id, label }) => ({ itemId: id, action: { kind: 'label', label } })),
      this.withUser(options),
    );
  }

  unlabel(id: number, options: ActionOptions = {}): StoredEvent {
    return this.act(id, { kind: 'unlabel' }, options);
  }

  skip(id: number, options: ActionOptions = {}): StoredEvent {
    return this.act(id, { kind: 'skip' }, options);
  }

  dontKnow(id: number, options: ActionOptions = {}): StoredEvent {
    return this.act(id, { kind: 'dont_know' }, options);
  }

  caption(id: number, caption: string | null, options: ActionOptions = {}): StoredEvent {
    return this.act(id, { kind: 'caption', caption }, options);
  }

  tags(id: number, tags: string[], options: ActionOptions = {}): StoredEvent {
    return this.act(id, { kind: 'tags', tags }, options);
  }

  delete(id: number, options: ActionOptions = {}): StoredEvent {
    return this.act(id, { kind: 'delete' }, options);
  }

  restore(id: number, options: ActionOptions = {}): StoredEvent {
    return this.act(id, { kind: 'restore' }, options);
  }

  act(id: number, action: ItemAction, options: ActionOptions = {}): StoredEvent {
    return this.store.act(id, action, this.withUser(options));
  }

  /** Takes back this user's latest action (or batch); returns what was undone, [] if nothing. */
  undo(): StoredEvent[] {
    return this.store.undo(this.user);
  }

  redo(): StoredEvent[] {
    return this.store.redo(this.user);
  }

  classes(): ClassInfo[] {
    return this.store.classes();
  }

  addClass(name: string, key: string | null = null): ClassInfo {
    return this.store.addClass(name, key);
  }

  stats(): DatasetStats {
    return this.store.stats();
  }

  /** What `ds.widget()` makes; the QuickSort kernel provides it (see {@link Dataset.provideWidget}). */
  private static widgetFactory: LabelingWidgetFactory | undefined;

  /**
   * Gives `ds.widget()` its widget: the QuickSort kernel calls this when it starts, with its own
   * `labelingWidget` (quicksort/kernel), since the engine never imports the kernel (DESIGN.md).
   *
   * @example
   * Dataset.provideWidget(labelingWidget); // kernel/host/kernel-host.ts
   */
  static provideWidget(factory: LabelingWidgetFactory): void {
    Dataset.widgetFactory = factory;
  }

  /**
   * The labeling app for this dataset, in a notebook cell on the QuickSort kernel: labels go to the store as
   * they are made (other cells can read `ds.stats()` meanwhile). Elsewhere it throws a ProtocolError that
   * says so; `quicksort serve` is the app outside notebooks. The same as `labelingWidget(ds)` from
   * `quicksort/kernel`.
   *
   * @example
   * const ds = await QuickSort.open('photos/');
   * ds.widget(); // the last expression of a cell shows the app; ds.widget({ frontEnd: 'anywidget' }) without our extension
   */
  widget(options: WidgetOptions = {}): LabelingWidgetHandle {
    if (!Dataset.widgetFactory) {
      throw new ProtocolError(
        'ds.widget() shows the labeling app in a notebook on the QuickSort kernel, which provides the widget: choose the kernel "TypeScript (QuickSort)" ' +
          '(install it with `npx quicksort jupyter install`); outside notebooks, `npx quicksort serve --dataset DIR` serves the same app',
      );
    }
    return Dataset.widgetFactory(this, options);
  }

  events(options: { itemId?: number; sinceSeq?: number; limit?: number } = {}): StoredEvent[] {
    return this.store.events(options);
  }

  /** What the VLM assist cost so far (requests, images, tokens, time, cache hits), in all and per model. */
  vlmStats(): VlmStats {
    return this.vlm.stats();
  }

  /** Files that could not be ingested, with the reason. */
  failures(): IngestFailure[] {
    return this.store.failures();
  }

  /** Groups of items with identical file content. */
  duplicates(): { hash: string; uris: string[] }[] {
    return this.store.duplicates();
  }

  close(): void {
    this.store.close();
    this.closeSearch();
  }

  /** Forgets the open search; its tower may hold a model's worker thread, freed in the background. */
  private closeSearch(): void {
    void this.textSearch?.then((search) => search.close()).catch(() => undefined);
    this.textSearch = undefined;
  }

  private withUser(options: ActionOptions): ActionOptions {
    return { user: this.user, ...options };
  }
}

/** The entry point of the library. */
export const QuickSort = {
  open: Dataset.open,
};
