import { DatasetError, InvalidArgumentError } from '../errors';
import type { Box, Store } from '../store';
import { readBox } from './convert';
import type { CocoLink } from './link';
import { CategoryIndex, type BoxFormat, type CocoImage } from './types';

/** A crop an earlier import stored, by its annotation id: what it was cut from, and whether anyone touched it. */
export interface ImportedCrop {
  itemId: number;
  imageId: number | null;
  sourceUri: string | null;
  box: Box | null;
  uri: string;
  bytes: number;
  /** No event ever touched the item (no suggestion, no label): a rerun may still suggest its class. */
  untouched: boolean;
}

/** The crops earlier imports stored (rejected ones too: their annotation ids are taken). */
export function readImportedCrops(store: Store): Map<number, ImportedCrop> {
  const crops = new Map<number, ImportedCrop>();
  for (const deleted of [false, true]) {
    for (const item of store.iterateItems({ deleted })) {
      if (item.cocoAnnotationId === null) continue;
      crops.set(item.cocoAnnotationId, {
        itemId: item.id, imageId: item.cocoImageId, sourceUri: item.sourceUri, box: item.box, uri: item.uri, bytes: item.bytes, untouched: item.version === 0,
      });
    }
  }
  return crops;
}

/**
 * Decides whether a rerun reads the file a dataset was imported from. Its identity is what a corrected
 * file keeps — the categories, and the image, file name and box of every annotation already cut — not its
 * bytes: a file that was truncated and then fixed is the same import, and its new records are added.
 * Every annotation of the file is shown to `see` (before any threshold), then `check` says what differs.
 */
export class SameImportCheck {
  private readonly matched = new Set<number>();
  private moved = 0;
  private firstMoved = '';

  constructor(
    private readonly crops: ReadonlyMap<number, ImportedCrop>,
    private readonly boxFormat: BoxFormat,
  ) {}

  see(annotationId: number | null, imageId: unknown, bbox: unknown): void {
    if (annotationId === null || this.matched.has(annotationId)) return;
    const crop = this.crops.get(annotationId);
    if (!crop) return;
    this.matched.add(annotationId);
    let box: Box | undefined;
    try {
      box = readBox(bbox, this.boxFormat);
    } catch {
      box = undefined;
    }
    if (imageId === crop.imageId && box !== undefined && sameBox(box, crop.box)) return;
    if (this.moved++ === 0) {
      this.firstMoved = `annotation ${annotationId} is on image ${String(imageId)} with box ${JSON.stringify(bbox)} in the file, on image ${crop.imageId} with box ${JSON.stringify(crop.box)} in the folder`;
    }
  }

  /**
   * Throws when the file is not the dataset's: a {@link DatasetError} naming what differs (the first
   * instance of each kind of difference and how many), or an {@link InvalidArgumentError} for other settings.
   */
  check(previous: CocoLink, next: CocoLink, images: ReadonlyMap<number, CocoImage>, outputRoot: string): void {
    const differences = [categoryDifference(previous, next), this.imageDifference(images), this.annotationDifference()].filter((d): d is string => d !== undefined);
    if (differences.length) {
      throw new DatasetError(
        `${next.source} is not the file ${outputRoot} was imported from (${previous.source}): ${differences.join('; ')}; ` +
          'import it into another --output-dir',
      );
    }
    const settings: string[] = [];
    const compare = (name: string, a: unknown, b: unknown) => {
      if (JSON.stringify(a) !== JSON.stringify(b)) settings.push(`${name} was ${JSON.stringify(a)}, now ${JSON.stringify(b)}`);
    };
    compare('role', previous.role, next.role);
    compare('format', previous.kind, next.kind);
    compare('convention', previous.convention, next.convention);
    compare('box format', previous.boxFormat, next.boxFormat);
    for (const key of Object.keys(next.crop) as (keyof CocoLink['crop'])[]) compare(key, previous.crop[key], next.crop[key]);
    if (settings.length) {
      throw new InvalidArgumentError(
        `${outputRoot} was imported with other settings (${settings.join('; ')}); resume with the same settings or import into another --output-dir`,
      );
    }
  }

  private imageDifference(images: ReadonlyMap<number, CocoImage>): string | undefined {
    const byImage = new Map<number, string | null>();
    for (const crop of this.crops.values()) if (crop.imageId !== null) byImage.set(crop.imageId, crop.sourceUri);
    let differ = 0;
    let first = '';
    for (const [id, fileName] of byImage) {
      const image = images.get(id);
      if (image?.fileName === fileName) continue;
      if (differ++ === 0) {
        first = image ? `image ${id} is ${JSON.stringify(image.fileName)} in the file and ${JSON.stringify(fileName)} in the folder` : `image ${id} (${JSON.stringify(fileName)}) is not in the file`;
      }
    }
    return differ ? `the images differ: ${differ} of ${byImage.size} file names (${first})` : undefined;
  }

  private annotationDifference(): string | undefined {
    const missing = this.crops.size - this.matched.size;
    const parts: string[] = [];
    if (missing) {
      const first = [...this.crops.keys()].find((id) => !this.matched.has(id));
      parts.push(`${missing} of the ${this.crops.size} annotations already cut are not in the file (first: annotation ${first})`);
    }
    if (this.moved) parts.push(`${this.moved} of the ${this.crops.size} annotations already cut have another image or box (${this.firstMoved})`);
    return parts.length ? parts.join('; ') : undefined;
  }
}

/**
 * The folder's categories must all be in the file under the same names. The file may add categories when
 * they are named by id (`coco`), not when they are counted by position, which an added one would shift.
 * A folder with none read them from a file cut before its categories list: any list is then the same.
 */
function categoryDifference(previous: CocoLink, next: CocoLink): string | undefined {
  if (previous.categories.length === 0) return undefined;
  const file = new CategoryIndex(next.categories);
  const folder = new CategoryIndex(previous.categories);
  let differ = 0;
  let first = '';
  for (const { id, name } of folder.byId.values()) {
    const other = file.byId.get(id);
    if (other?.name === name) continue;
    if (differ++ === 0) {
      first = other ? `category ${id} is ${JSON.stringify(other.name)} in the file and ${JSON.stringify(name)} in the folder` : `category ${id} (${JSON.stringify(name)}) is not in the file`;
    }
  }
  if (differ) return differ === 1 ? first : `${first} (${differ} categories differ)`;
  const order = (index: CategoryIndex) => (next.convention === 'mmdet' ? index.fileOrderIds : index.sortedIds).join();
  if (next.convention !== 'coco' && order(file) !== order(folder)) {
    const what = file.size === folder.size ? 'the categories are in another order' : `the file has ${file.size} categories and the folder ${folder.size}`;
    return `${what}, so ${next.convention} class indexes would name other categories`;
  }
  return undefined;
}

function sameBox(a: Box, b: Box | null): boolean {
  return b !== null && a.every((value, index) => value === b[index]);
}
