import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, ModelError, NotFoundError } from '../errors';
import { loadEmbeddings, type EmbeddingMatrix } from '../embed';
import { lineChartSvg } from '../learn';
import type { ItemFilter, StoreReader } from '../store';
import { loadTextModel, saveTextModel, textModelDir, TEXT_MODEL_FILE } from './model-file';
import type { TextModel } from './text-model';
import type { TrainingOptions, TrainingProgress, TrainingReport } from './train';
import { trainTextModel } from './train-in-worker';
import { JointIndex } from './joint-index';

/** What a training run leaves beside the model: which image model its joint space belongs to, and its curve. */
export const TEXT_TRAINING_FILE = 'training.json';
/** The loss curve of the last training, drawn. */
export const TEXT_LOSS_CHART = 'loss.svg';

export interface TextTrainOptions extends Omit<TrainingOptions, 'signal'> {
  /** The embedding model whose vectors the image side projects (default: the most recently used). */
  model?: string;
  /**
   * The dataset's embeddings when the caller holds them already (a labeling session does): used instead of
   * reading them from the cache again, on the caller's thread, when no other `model` is asked for.
   */
  embeddings?: EmbeddingMatrix;
  signal?: AbortSignal;
  onProgress?: (progress: TrainingProgress) => void;
}

export interface TextTrainReport extends TrainingReport {
  /** The image embedding model the joint space is tied to. */
  imageModel: string;
  /** Where the model, its training record and the loss chart were written. */
  files: { model: string; training: string; chart: string };
}

/** One search result, best first. */
export interface SearchHit {
  id: number;
  uri: string;
  /** Cosine of the query and the item in the joint space, in [-1, 1]. */
  score: number;
}

export interface SearchOptions {
  /** How many results (default 20). */
  k?: number;
  /** Only items matching this filter (label, tag, unlabeled, split, …), in the same query. */
  where?: ItemFilter;
}

interface TrainingRecord {
  imageModel: string;
  captions: number;
  images: number;
  losses: number[];
  trainedAt: string;
}

/**
 * Trains the dataset's text model on its captions (every caption of every embedded item, whatever its
 * source) in a worker thread, and saves it beside the store with its record and loss chart.
 */
export async function trainDatasetText(root: string, store: StoreReader, options: TextTrainOptions = {}): Promise<TextTrainReport> {
  const { model, embeddings: held, signal, onProgress, ...training } = options;
  const embeddings = held?.modelId && model === undefined ? held : loadEmbeddings(root, { store, model });
  if (!embeddings.modelId) throw new ModelError(`the embeddings of ${root} name no model; run \`quicksort embed --dataset ${root}\` again`);
  const rowOf = new Map(embeddings.ids.map((id, row) => [id, row]));
  const captions: string[] = [];
  const imageOfCaption: number[] = [];
  const imageRows: number[] = [];
  for (const item of store.iterateItems({ hasCaption: true })) {
    const row = rowOf.get(item.id);
    if (row === undefined) continue;
    const texts = [...new Set(item.captions.map((caption) => caption.text.trim()).filter((text) => text !== ''))];
    if (texts.length === 0) continue;
    for (const text of texts) {
      captions.push(text);
      imageOfCaption.push(imageRows.length);
    }
    imageRows.push(row);
  }
  if (imageRows.length < 2) {
    throw new InvalidArgumentError(
      `${root} has ${imageRows.length} embedded item${imageRows.length === 1 ? '' : 's'} with a caption; the text model learns by telling captions of different images apart and needs at least 2 (add captions: quicksort captions import, or type them in the app)`,
    );
  }
  const { dim } = embeddings;
  const images = new Float32Array(imageRows.length * dim);
  imageRows.forEach((row, index) => images.set(embeddings.vectors.subarray(row * dim, (row + 1) * dim), index * dim));
  const { model: trained, report } = await trainTextModel({ images, imageDim: dim, captions, imageOfCaption }, { ...training, signal }, onProgress);
  const dir = textModelDir(root);
  const modelFile = saveTextModel(trained, dir);
  const record: TrainingRecord = { imageModel: embeddings.modelId, captions: report.captions, images: report.images, losses: report.losses, trainedAt: new Date().toISOString() };
  const trainingFile = path.join(dir, TEXT_TRAINING_FILE);
  writeFileSync(trainingFile, `${JSON.stringify(record, null, 2)}\n`);
  const chartFile = path.join(dir, TEXT_LOSS_CHART);
  writeFileSync(chartFile, lossChart(report.losses));
  return { ...report, imageModel: embeddings.modelId, files: { model: modelFile, training: trainingFile, chart: chartFile } };
}

function lossChart(losses: readonly number[]): string {
  return lineChartSvg([{ name: 'InfoNCE loss', points: losses.map((loss, epoch) => ({ x: epoch + 1, y: loss })) }], {
    title: 'Text model training',
    xLabel: 'epoch',
    yLabel: 'loss',
  });
}

/** The projection of the items into the model's joint space, cached beside the model. */
export const JOINT_CACHE_FILE = 'joint.bin';

/**
 * Natural-language search over a dataset's items: the saved text model, the items' embeddings projected into
 * its joint space (once, then cached beside the model: see {@link JointIndex}), and an exact scan of them —
 * of every row, or of the rows a filter lets through. Reloads by itself when a newer model is saved, so a
 * search after training uses the new space.
 */
export class TextSearch {
  private constructor(
    private readonly store: StoreReader,
    private readonly model: TextModel,
    private readonly index: JointIndex,
    /** The model file's modification time when loaded. */
    readonly loadedAt: number,
  ) {}

  /**
   * Loads the model in `root` and the projection of the items embedded by the model it was trained on;
   * `held`, the embeddings a caller holds already, saves reading them again when they are of that model.
   */
  static open(root: string, store: StoreReader, held?: EmbeddingMatrix): TextSearch {
    const dir = textModelDir(root);
    const modelFile = path.join(dir, TEXT_MODEL_FILE);
    // Stat first: a model saved between the two is then seen as newer than this one at the next search.
    const file = statOf(modelFile);
    const model = loadTextModel(dir);
    const record = readRecord(path.join(dir, TEXT_TRAINING_FILE));
    let embeddings: EmbeddingMatrix;
    try {
      embeddings = held?.modelId === record.imageModel ? held : loadEmbeddings(root, { store, model: record.imageModel });
    } catch (error) {
      if (error instanceof NotFoundError) {
        throw new NotFoundError(`the text model in ${dir} was trained on embeddings of ${record.imageModel}, which ${root} no longer has: embed again or train again (quicksort text train)`, { cause: error });
      }
      throw error;
    }
    const key = { modelMtimeMs: file.mtimeMs, modelBytes: file.size, imageModel: record.imageModel };
    const cacheFile = path.join(dir, JOINT_CACHE_FILE);
    let index = JointIndex.read(cacheFile, key, embeddings.ids);
    if (!index) {
      index = new JointIndex(embeddings.ids, model.jointDim, model.projectImages(embeddings.vectors));
      try {
        index.write(cacheFile, key);
      } catch {
        // Only a cache (a read-only folder, a full disk): the next open projects again.
      }
    }
    return new TextSearch(store, model, index, file.mtimeMs);
  }

  /** True when the model file on disk is not the one loaded (a training finished since). */
  isStale(root: string): boolean {
    return modifiedAt(path.join(textModelDir(root), TEXT_MODEL_FILE)) !== this.loadedAt;
  }

  /** The items nearest to `query` in the joint space, best first, only those matching `options.where`. */
  search(query: string, options: SearchOptions = {}): SearchHit[] {
    if (typeof query !== 'string' || query.trim() === '') throw new InvalidArgumentError('the search text is empty; say what to look for, e.g. "a dog asleep on a sofa"');
    const k = options.k ?? 20;
    if (!Number.isInteger(k) || k <= 0) throw new InvalidArgumentError(`k must be a positive whole number; got ${String(k)}`);
    const vector = this.model.encodeText([query]);
    const hits = this.index.search(vector, k, options.where ? this.acceptedRows(options.where) : undefined);
    const ids = hits.map((hit) => this.index.ids[hit.row]!);
    const uris = new Map(this.store.items({ where: { ids } }).map((item) => [item.id, item.uri]));
    return hits.flatMap((hit) => {
      const id = this.index.ids[hit.row]!;
      const uri = uris.get(id);
      return uri === undefined ? [] : [{ id, uri, score: hit.score }];
    });
  }

  /** The rows of the items the filter lets through (one store query), in row order. */
  private acceptedRows(where: ItemFilter): Int32Array {
    const rowOf = this.index.rows;
    const rows: number[] = [];
    for (const id of this.store.itemIds(where)) {
      const row = rowOf.get(id);
      if (row !== undefined) rows.push(row);
    }
    return Int32Array.from(rows);
  }
}

function statOf(file: string): { mtimeMs: number; size: number } {
  try {
    return statSync(file);
  } catch {
    return { mtimeMs: -1, size: -1 }; // none: loading it says so, naming the file
  }
}

function modifiedAt(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

function readRecord(file: string): TrainingRecord {
  let record: unknown;
  try {
    record = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ModelError(`cannot read ${file} (the text model's training record): ${(error as Error).message}; train again (quicksort text train)`, { cause: error });
  }
  const imageModel = (record as Partial<TrainingRecord> | null)?.imageModel;
  if (typeof imageModel !== 'string' || imageModel === '') {
    throw new ModelError(`${file} has no "imageModel" (the embedding model the text model was trained on); train again (quicksort text train)`);
  }
  return record as TrainingRecord;
}
