import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, ModelError } from '../errors';
import { loadEmbeddings, type EmbeddingMatrix } from '../embed';
import { lineChartSvg } from '../learn';
import type { StoreReader } from '../store';
import { saveTextModel, textModelDir } from './model-file';
import type { TrainingOptions, TrainingProgress, TrainingReport } from './train';
import { trainTextModel } from './train-in-worker';
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
  signal?: AbortSignal;
  onProgress?: (progress: TrainingProgress) => void;
}

export interface TextTrainReport extends TrainingReport {
  /** The image embedding model the joint space is tied to. */
  imageModel: string;
  /** Where the model, its training record and the loss chart were written. */
  files: { model: string; training: string; chart: string };
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
