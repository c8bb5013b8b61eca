import type { QdrantCondition, QdrantFilter } from '../vectors';
import type { ItemFilter, ItemWithState, StoreReader } from '../store';

/**
 * What a point of the search collection carries besides its vectors: the item fields a search filters on
 * (the app's label, tag, unlabeled and split filters; deleted items are never answered), so a filtered
 * search is one Qdrant query.
 */
export interface SearchPayload {
  labeled: boolean;
  label: string | null;
  split: string | null;
  tags: string[];
  deleted: boolean;
}

/** Payload indexes: filtered search on a large collection stays fast. */
export const SEARCH_PAYLOAD_INDEXES: readonly { field: keyof SearchPayload; schema: 'bool' | 'keyword' }[] = [
  { field: 'labeled', schema: 'bool' },
  { field: 'label', schema: 'keyword' },
  { field: 'split', schema: 'keyword' },
  { field: 'tags', schema: 'keyword' },
  { field: 'deleted', schema: 'bool' },
];

export function payloadOf(item: ItemWithState): SearchPayload {
  return { labeled: item.label !== null, label: item.label, split: item.split, tags: [...item.tags], deleted: item.deleted };
}

/** The fields of an {@link ItemFilter} that the payload answers; any other field is answered by the store. */
const PAYLOAD_FIELDS = new Set<keyof ItemFilter>(['label', 'labeled', 'split', 'tag', 'deleted']);

/**
 * An {@link ItemFilter} as one Qdrant filter with the store's meaning (see store/item-filter.ts): payload
 * conditions for the fields the payload carries; for any other field (ids, uriLike, hasCaption…) the ids the
 * store lets through, as a `has_id` condition of the same query. Deleted items are left out unless asked for.
 */
export function toSearchFilter(where: ItemFilter | undefined, store: StoreReader): QdrantFilter {
  const filter = where ?? {};
  const must: QdrantCondition[] = [{ key: 'deleted', match: { value: filter.deleted === true } }];
  if (filter.label === null) must.push({ is_empty: { key: 'label' } });
  else if (filter.label !== undefined) must.push({ key: 'label', match: { value: filter.label } });
  if (filter.labeled === true) must.push({ key: 'labeled', match: { value: true } });
  else if (filter.labeled === false) must.push({ key: 'labeled', match: { value: false } });
  if (filter.split === null) must.push({ is_empty: { key: 'split' } });
  else if (filter.split !== undefined) must.push({ key: 'split', match: { value: filter.split } });
  if (filter.tag !== undefined) must.push({ key: 'tags', match: { value: filter.tag } });
  const rest = (Object.keys(filter) as (keyof ItemFilter)[]).filter((key) => filter[key] !== undefined && !PAYLOAD_FIELDS.has(key));
  if (rest.length > 0) must.push({ has_id: Array.from(store.itemIds(filter)) });
  return { must };
}
