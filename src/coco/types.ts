import type { Box } from '../store';

// ---- wire types: the JSON of COCO files, under the names the spec gives them -------------------------
// https://cocodataset.org/#format-data (instances) and https://cocodataset.org/#format-results (results)

/** A polygon list (`[[x1, y1, x2, y2, …], …]`) or a run-length encoding (`{size, counts}`), carried as-is. */
export type CocoSegmentationJson = number[][] | { size: [number, number]; counts: number[] | string };

export interface CocoImageJson {
  id: number;
  file_name: string;
  width: number;
  height: number;
  [key: string]: unknown;
}

export interface CocoCategoryJson {
  id: number;
  name: string;
  supercategory?: string;
  [key: string]: unknown;
}

/** An annotation of an instances file, or a detection of a results file (which has a score and no id). */
export interface CocoAnnotationJson {
  id?: unknown;
  image_id?: unknown;
  category_id?: unknown;
  /** MMDetection's 0-based class index, in place of `category_id`. */
  label?: unknown;
  bbox?: unknown;
  score?: unknown;
  area?: unknown;
  iscrowd?: unknown;
  segmentation?: unknown;
  [key: string]: unknown;
}

// ---- conventions --------------------------------------------------------------------------------------

/**
 * How a file names categories in its annotations.
 * - `coco`: `category_id` is an id of the categories list (the COCO spec; Detectron2's COCOEvaluator and
 *   MMDetection's `results2json`/`CocoMetric` write this).
 * - `detectron2`: `category_id` is Detectron2's contiguous 0-based class index, i.e. the position of the
 *   category among the categories sorted by id (`thing_dataset_id_to_contiguous_id`).
 * - `mmdet`: `label` (or, without it, `category_id`) is MMDetection's 0-based class index, the position of
 *   the category in the categories list (`cat2label`, built in file order).
 */
export type CategoryConvention = 'coco' | 'detectron2' | 'mmdet';

/** `xywh` is COCO's `[x, y, width, height]`; `xyxy` is `[x1, y1, x2, y2]` as raw framework outputs hold boxes. */
export type BoxFormat = 'xywh' | 'xyxy';

/** What `fromCoco` and `toCoco` need to translate between a file's conventions and QuickSort's. */
export interface CocoContext {
  /** Instances files carry annotation ids; results files do not, and their ids are positions + 1. */
  kind: CocoFileKind;
  convention: CategoryConvention;
  /** The key the class is written under: `category_id`, or `label` in MMDetection's dumps. */
  categoryKey: 'category_id' | 'label';
  boxFormat: BoxFormat;
  categories: CategoryIndex;
}

export type CocoFileKind = 'instances' | 'results';

// ---- neutral types ------------------------------------------------------------------------------------

/**
 * One box of a COCO file, ground truth or detection, in QuickSort's terms: ids are the dataset's own, the
 * box is `[x, y, width, height]` in pixels, the category is the categories list's id whatever the file's
 * convention. Fields the file did not have stay undefined, so that `toCoco` writes back exactly what
 * `fromCoco` read.
 */
export interface CocoObject {
  /** The annotation id; for a results file, the detection's position + 1 (as pycocotools' `loadRes`). */
  annotationId: number;
  imageId: number;
  categoryId: number;
  box: Box;
  score?: number;
  area?: number;
  iscrowd?: number;
  segmentation?: CocoSegmentationJson;
  /** Every other key of the annotation, unchanged. */
  extra?: Record<string, unknown>;
}

export interface CocoImage {
  id: number;
  /** The path as the file gives it, relative to the images folder. */
  fileName: string;
  width: number;
  height: number;
}

export interface CocoCategory {
  id: number;
  name: string;
}

/** The categories of a file and the index orders the Detectron2 and MMDetection conventions count in. */
export class CategoryIndex {
  readonly byId = new Map<number, CocoCategory>();
  /** Category ids in id order (Detectron2's contiguous index). */
  readonly sortedIds: number[];
  /** Category ids in file order (MMDetection's label index). */
  readonly fileOrderIds: number[];

  constructor(readonly categories: readonly CocoCategory[]) {
    for (const category of categories) if (!this.byId.has(category.id)) this.byId.set(category.id, category);
    this.fileOrderIds = [...this.byId.keys()];
    this.sortedIds = [...this.fileOrderIds].sort((a, b) => a - b);
  }

  get size(): number {
    return this.byId.size;
  }

  /** The first category with this name. */
  idOfName(name: string): number | undefined {
    for (const category of this.categories) if (category.name === name) return category.id;
    return undefined;
  }

  maxId(): number {
    return this.sortedIds.length ? this.sortedIds[this.sortedIds.length - 1]! : 0;
  }
}
