import type { CategoryConvention, CategoryIndex } from './types';

/** What the annotations of a file showed about how they name categories. */
export interface CategoryEvidence {
  /** Whole-number values of `category_id` seen. */
  categoryIds: Set<number>;
  /** How many records had `label` (MMDetection's class index). */
  labels: number;
  /** How many records had `category_id`. */
  categoryIdCount: number;
}

export interface ConventionChoice {
  convention: CategoryConvention;
  categoryKey: 'category_id' | 'label';
  /** Why this convention was chosen, when it was a judgement call. */
  note?: string;
}

export function emptyEvidence(): CategoryEvidence {
  return { categoryIds: new Set(), labels: 0, categoryIdCount: 0 };
}

/**
 * Chooses how a file names categories: the one asked for, or — for `auto` — the one the values prove.
 * `category_id` values that are all ids of the categories list mean COCO's own convention; values that are
 * not, but all fit 0…N-1, are Detectron2's contiguous indexes; `label` without `category_id` is
 * MMDetection's index. When values fit both COCO ids and contiguous indexes, COCO wins (it is what both
 * frameworks' COCO evaluators write) and the note says how to override.
 *
 * @example
 * chooseConvention({ categoryIds: new Set([0, 1]), labels: 0, categoryIdCount: 2 }, cocoIndex, 'auto'); // detectron2
 */
export function chooseConvention(evidence: CategoryEvidence, categories: CategoryIndex, requested: CategoryConvention | 'auto'): ConventionChoice {
  const labelKey = evidence.labels > 0 && evidence.categoryIdCount === 0;
  if (requested !== 'auto') {
    return { convention: requested, categoryKey: requested === 'mmdet' && labelKey ? 'label' : 'category_id' };
  }
  if (labelKey) {
    return { convention: 'mmdet', categoryKey: 'label', note: 'records carry `label` without `category_id`: read as MMDetection class indexes (position in the categories list)' };
  }
  if (categories.size === 0 || evidence.categoryIds.size === 0) return { convention: 'coco', categoryKey: 'category_id' };
  const values = [...evidence.categoryIds];
  const allIds = values.every((value) => categories.byId.has(value));
  const allIndexes = values.every((value) => value >= 0 && value < categories.size);
  if (allIds && allIndexes && !sameNumbering(categories)) {
    return {
      convention: 'coco',
      categoryKey: 'category_id',
      note: `every category_id is both a category id and a class index 0–${categories.size - 1}; read as category ids (pass convention "detectron2" if they are contiguous indexes)`,
    };
  }
  if (allIds) return { convention: 'coco', categoryKey: 'category_id' };
  if (allIndexes) {
    return {
      convention: 'detectron2',
      categoryKey: 'category_id',
      note: `category_id values are not all category ids but all fit 0–${categories.size - 1}: read as Detectron2 contiguous class indexes (categories sorted by id)`,
    };
  }
  return { convention: 'coco', categoryKey: 'category_id' };
}

/** True when index i and id i name the same category for all i (ids 0…N-1 in order): no ambiguity then. */
function sameNumbering(categories: CategoryIndex): boolean {
  return categories.sortedIds.every((id, index) => id === index);
}
