import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, ModelError } from '../errors';
import { loadEmbeddings, modelSourceOf, type EmbeddingMatrix } from '../embed';
import { lineChartSvg } from '../learn';
import type { StoreReader } from '../store';
import { saveTextModel, textModelDir } from './model-file';
import type { TrainingOptions, TrainingProgress, TrainingReport } from './train';
import { trainAdapters, trainTextModel } from './train-in-worker';
import { ADAPTERS_TRAINING_FILE, saveAdapters } from './adapter-file';
import { loadTower } from './open-search';
import type { TextTower, TextTowerKind } from './text-tower';
import { TEXT_TRAINING_FILE, type TrainingRecord } from './training-record';

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
  /**
   * With a two-tower embedding model (CLIP, SigLIP), train light adapters on both of its towers (the default)
   * rather than QuickSort's own text model; `false` trains the text model anyway.
   */
  adapters?: boolean;
  /** The embedding model's text tower when the caller holds it loaded (a labeling session does). */
  textTower?: TextTower;
  signal?: AbortSignal;
  onProgress?: (progress: TrainingProgress) => void;
}

export interface TextTrainReport extends TrainingReport {
  /** The image embedding model the joint space is tied to. */
  imageModel: string;
  /** What the training made: `trained`, QuickSort's text model; `adapted`, adapters on the embedding model's towers. */
  tower: Exclude<TextTowerKind, 'embedding-model'>;
  /** Where the model (or the adapters), its training record and the loss chart were written. */
  files: { model: string; training: string; chart: string };
}

/**
 * Trains the dataset's text model on its captions (every caption of every embedded item, whatever its
 * source) in a worker thread, and saves it beside the store with its record and loss chart. When the
 * embeddings come from a two-tower model whose text tower is at hand, adapters on both of its towers are
 * trained instead (LiT-style, with the same InfoNCE loss; see adapters.ts), the captions encoded by its
 * text tower first.
 */
export async function trainDatasetText(root: string, store: StoreReader, options: TextTrainOptions = {}): Promise<TextTrainReport> {
  const { model, embeddings: held, signal, onProgress, adapters, textTower, ...training } = options;
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
  const imageModel = embeddings.modelId;
  const dir = textModelDir(root);
  const source = adapters === false ? undefined : modelSourceOf(root, imageModel);
  if (source?.textModel) {
    // A two-tower model: both towers stay frozen, an adapter on each learns the captions.
    const held = textTower?.kind === 'embedding-model' && textTower.imageModel === imageModel ? textTower : undefined;
    const tower = held ?? (await loadTower(root, source, {}, `train adapters for ${root}`));
    let texts: Float32Array;
    let unitImages: Float32Array;
    try {
      texts = await tower.encodeTexts(captions);
      unitImages = tower.projectImages(images);
    } finally {
      if (!held) await tower.close();
    }
    const { epochs, batchSize, learningRate, seed } = training;
    const trained = await trainAdapters({ dim, images: unitImages, texts, imageOfCaption }, { epochs, batchSize, learningRate, seed, signal }, onProgress);
    const modelFile = saveAdapters(trained.adapters, dir);
    return { ...trained.report, imageModel, tower: 'adapted', files: { model: modelFile, ...writeRecord(dir, ADAPTERS_TRAINING_FILE, imageModel, trained.report) } };
  }
  const { model: trained, report } = await trainTextModel({ images, imageDim: dim, captions, imageOfCaption }, { ...training, signal }, onProgress);
  const modelFile = saveTextModel(trained, dir);
  return { ...report, imageModel, tower: 'trained', files: { model: modelFile, ...writeRecord(dir, TEXT_TRAINING_FILE, imageModel, report) } };
}

/** Writes a training's record and its loss chart beside what it trained. */
function writeRecord(dir: string, name: string, imageModel: string, report: TrainingReport): { training: string; chart: string } {
  const record: TrainingRecord = { imageModel, captions: report.captions, images: report.images, losses: report.losses, trainedAt: new Date().toISOString() };
  const training = path.join(dir, name);
  writeFileSync(training, `${JSON.stringify(record, null, 2)}\n`);
  const chart = path.join(dir, TEXT_LOSS_CHART);
  writeFileSync(chart, lossChart(report.losses));
  return { training, chart };
}

function lossChart(losses: readonly number[]): string {
  return lineChartSvg([{ name: 'InfoNCE loss', points: losses.map((loss, epoch) => ({ x: epoch + 1, y: loss })) }], {
    title: 'Text model training',
    xLabel: 'epoch',
    yLabel: 'loss',
  });
}
