import { cpSync } from 'node:fs';
import path from 'node:path';
import { Dataset } from '../../src/dataset';
import { COCO_MINI_CAPTIONS, COCO_MINI_IMAGES, tempDir } from './fixtures';

export const TEXT_CLASSES = ['animal', 'vehicle', 'food', 'other'];

/**
 * coco-mini-train (80 images) in a temporary folder, as a person prepares it for search: ingested, embedded
 * with the default ONNX model, four classes, the COCO captions imported (400) and the text model trained.
 */
export async function captionedCocoMini(user = 'ann'): Promise<{ dir: string; cleanup: () => void }> {
  const temp = tempDir('quicksort-captioned-');
  const dir = path.join(temp.dir, 'images');
  cpSync(COCO_MINI_IMAGES, dir, { recursive: true });
  const ds = await Dataset.open(dir, { user });
  try {
    await ds.ingest();
    await ds.embed();
    for (const name of TEXT_CLASSES) ds.addClass(name);
    await ds.importCaptions({ file: COCO_MINI_CAPTIONS });
    await ds.trainText({ epochs: 30 });
  } finally {
    ds.close();
  }
  return { dir, cleanup: temp.cleanup };
}
