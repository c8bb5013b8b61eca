import type { QdrantCondition, QdrantFilter } from './qdrant-client';
import type { PointFilter } from './vector-index';

/**
 * A {@link PointFilter} as a Qdrant filter (https://qdrant.tech/documentation/concepts/filtering/): every
 * condition goes into `must`, the exclusions into `must_not` as one `has_id`, so "nearest unlabeled to X,
 * not X itself" is a single query. Returns undefined when nothing is filtered, so the request carries no filter.
 *
 * @example
 * toQdrantFilter({ labeled: false, excludeIds: [7] });
 * // { must: [{ key: 'labeled', match: { value: false } }], must_not: [{ has_id: [7] }] }
 */
export function toQdrantFilter(filter: PointFilter | undefined): QdrantFilter | undefined {
  if (filter === undefined) return undefined;
  const must: QdrantCondition[] = [];
  if (filter.labeled !== undefined) must.push({ key: 'labeled', match: { value: filter.labeled } });
  if (filter.label !== undefined) {
    // is_empty rather than is_null: a point whose payload lacks the key is unlabeled too.
    must.push(filter.label === null ? { is_empty: { key: 'label' } } : { key: 'label', match: { value: filter.label } });
  }
  if (filter.split !== undefined) must.push({ key: 'split', match: { value: filter.split } });
  const mustNot: QdrantCondition[] = filter.excludeIds !== undefined && filter.excludeIds.length > 0 ? [{ has_id: [...filter.excludeIds] }] : [];
  if (must.length === 0 && mustNot.length === 0) return undefined;
  return { ...(must.length > 0 ? { must } : {}), ...(mustNot.length > 0 ? { must_not: mustNot } : {}) };
}
