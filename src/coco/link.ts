import { DatasetError } from '../errors';
import { COCO_LINK_META_KEY, type Store } from '../store';
import type { CropOptions } from './crop-geometry';
import type { CropFormat } from './crop-worker';
import type { BoxFormat, CategoryConvention, CocoCategory, CocoFileKind } from './types';

/**
 * What a dataset of crops remembers of the COCO file it came from, so that export can rewrite that file
 * with the corrections, and a second import can resume (and refuse to mix in another file).
 */
export interface CocoLink {
  version: 1;
  /** Absolute path of the file the crops were cut from and that export rewrites. */
  source: string;
  bytes: number;
  mtimeMs: number;
  sha256: string;
  kind: CocoFileKind;
  /** `annotations`: ground truth; `predictions`: a model's detections. */
  role: 'annotations' | 'predictions';
  convention: CategoryConvention;
  categoryKey: 'category_id' | 'label';
  boxFormat: BoxFormat;
  /** The categories class names map to (from the file, the annotations file, or COCO's own 80). */
  categories: CocoCategory[];
  categoriesFrom: 'file' | 'annotations' | 'builtin';
  annotationsFile: string | null;
  imagesDir: string;
  crop: Required<CropOptions> & { format: CropFormat; quality: number };
  importedAt: number;
}

export function readLink(store: Store): CocoLink | undefined {
  const text = store.getMeta(COCO_LINK_META_KEY);
  if (text === undefined) return undefined;
  const link = JSON.parse(text) as CocoLink;
  if (link.version !== 1) {
    throw new DatasetError(`the store ${store.file} links to a COCO file with format version ${String(link.version)}, which this QuickSort does not know; upgrade QuickSort`);
  }
  return link;
}

export function writeLink(store: Store, link: CocoLink): void {
  store.setMeta(COCO_LINK_META_KEY, JSON.stringify(link));
}
