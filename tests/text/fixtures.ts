import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_MODEL, OnnxEmbedder, type ImageSource } from '../../src/embed';

export const COCO_MINI = path.join(__dirname, '..', '..', 'examples', 'coco-mini-train');

export function tempFolder(prefix = 'quicksort-text-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Embeds images with the real default model (MobileNetV2, 1280-d): one row-major matrix. */
export async function embedWithDefaultModel(sources: ImageSource[], modelCacheDir: string): Promise<Float32Array> {
  const embedder = await OnnxEmbedder.load(DEFAULT_MODEL, { modelCacheDir, providers: ['cpu'] });
  try {
    const results = await embedder.embedImages(sources);
    const matrix = new Float32Array(sources.length * embedder.dim);
    results.forEach((result, row) => {
      if (!result.ok) throw new Error(`image ${row} could not be embedded: ${result.reason}`);
      matrix.set(result.vector, row * embedder.dim);
    });
    return matrix;
  } finally {
    await embedder.close();
  }
}

/** The first `count` images of coco-mini-train, embedded, with their captions (5 each). */
export async function cocoMiniPairs(count: number, modelCacheDir: string) {
  const coco = JSON.parse(readFileSync(path.join(COCO_MINI, 'annotations', 'captions_train2017.json'), 'utf8')) as {
    images: { id: number; file_name: string }[];
    annotations: { image_id: number; caption: string }[];
  };
  const images = coco.images.slice(0, count);
  const rowOf = new Map(images.map((image, row) => [image.id, row]));
  const captions: string[] = [];
  const imageOfCaption: number[] = [];
  for (const annotation of coco.annotations) {
    const row = rowOf.get(annotation.image_id);
    if (row === undefined) continue;
    captions.push(annotation.caption);
    imageOfCaption.push(row);
  }
  const matrix = await embedWithDefaultModel(images.map((image) => ({ file: path.join(COCO_MINI, 'images', image.file_name) })), modelCacheDir);
  return { images: matrix, imageDim: 1280, captions, imageOfCaption };
}
