import { loadEmbeddings, type EmbeddingMatrix } from '../embed';
import { InvalidArgumentError, NotFoundError } from '../errors';
import type { ItemFilter, StoreReader, StoredEvent } from '../store';
import type { TextSearch } from '../text';
import type { SearchFilter } from './protocol';

export const MAX_SEARCH_RESULTS = 500;
export const MAX_SIMILAR = 200;
export const MAX_CAPTION_SUGGESTIONS = 50;

/** The store's filter for a `search` (the protocol names only what the app offers). */
export function searchWhere(filter: SearchFilter = {}): ItemFilter | undefined {
  const where: ItemFilter = {};
  if (filter.label !== undefined) where.label = filter.label;
  if (filter.tag !== undefined) where.tag = filter.tag;
  if (filter.unlabeled) where.labeled = false;
  if (filter.split !== undefined) where.split = filter.split;
  return Object.keys(where).length > 0 ? where : undefined;
}

/** Checks a count a client asked for, saying the allowed range. */
export function checkedCount(what: string, value: number | undefined, fallback: number, max: number): number {
  const count = value ?? fallback;
  if (count < 1 || count > max) throw new InvalidArgumentError(`${what}: k must be 1 to ${max}; got ${count}`);
  return count;
}

/**
 * "More like this": the `k` items whose embeddings are nearest to the item's (cosine), best first, the item
 * itself left out. An exact scan of the matrix (one pass of dot products: tens of milliseconds at 100k
 * items), with the rows' lengths computed once per matrix.
 */
export class SimilarImages {
  private norms: Float32Array | undefined;
  private rowOf: Map<number, number> | undefined;

  constructor(private readonly matrix: EmbeddingMatrix) {}

  nearest(itemId: number, k: number): { id: number; score: number }[] {
    const { ids, dim, vectors } = this.matrix;
    this.rowOf ??= new Map(ids.map((id, row) => [id, row]));
    const norms = (this.norms ??= rowNorms(vectors, dim));
    const row = this.rowOf.get(itemId);
    if (row === undefined) throw new NotFoundError(`item ${itemId} has no embedding: embed the dataset again (quicksort embed) to find images like it`);
    const query = vectors.subarray(row * dim, (row + 1) * dim);
    const best: { row: number; score: number }[] = [];
    for (let other = 0; other < ids.length; other++) {
      if (other === row) continue;
      let dot = 0;
      const offset = other * dim;
      for (let j = 0; j < dim; j++) dot += query[j]! * vectors[offset + j]!;
      const score = dot / (norms[row]! * norms[other]! || 1);
      if (best.length === k && score <= best[k - 1]!.score) continue;
      insertSorted(best, { row: other, score }, k);
    }
    return best.map((hit) => ({ id: ids[hit.row]!, score: hit.score }));
  }
}

/**
 * Image → captions: the dataset's distinct captions nearest to an item's image in the space of the search's
 * tower (the trained text model's, or the embedding model's own). Each caption is encoded once per search
 * (only those added since are encoded again; a model's tower runs in its worker), the item's embedding read
 * alone from the cache of the tower's image model.
 */
export class CaptionSuggester {
  private space: { search: TextSearch; vectors: Map<string, Float32Array> } | undefined;
  private captions: string[] | undefined;

  constructor(
    private readonly root: string,
    private readonly store: StoreReader,
  ) {}

  async suggest(search: TextSearch, itemId: number, k: number): Promise<{ text: string; score: number }[]> {
    const { tower } = search;
    if (this.space?.search !== search) this.space = { search, vectors: new Map() };
    const { vectors } = this.space;
    const texts = this.distinctCaptions();
    const missing = texts.filter((text) => !vectors.has(text));
    if (missing.length > 0) {
      const encoded = await tower.encodeTexts(missing);
      missing.forEach((text, row) => vectors.set(text, encoded.subarray(row * tower.dim, (row + 1) * tower.dim)));
    }
    // The item is read after the wait: its own captions as they are now are left out.
    const item = this.store.item(itemId);
    const own = new Set(item.captions.map((caption) => caption.text.trim()));
    const embedding = loadEmbeddings(this.root, { store: this.store, model: tower.imageModel, ids: new Set([itemId]) });
    if (embedding.ids.length === 0) throw new NotFoundError(`item ${itemId} has no embedding of ${tower.imageModel}: embed the dataset again (quicksort embed) to suggest captions for it`);
    const image = tower.projectImages(embedding.vectors);
    const best: { row: number; score: number }[] = [];
    texts.forEach((text, row) => {
      const caption = vectors.get(text);
      if (!caption || own.has(text)) return;
      let dot = 0;
      for (let j = 0; j < tower.dim; j++) dot += image[j]! * caption[j]!;
      if (best.length === k && dot <= best[k - 1]!.score) return;
      insertSorted(best, { row, score: dot }, k);
    });
    return best.map((hit) => ({ text: texts[hit.row]!, score: hit.score }));
  }

  /**
   * Events a host met (its sessions' writes, undos and redos, and other writers' events from the log): a
   * caption written or taken back makes the list of captions be read again. Other events (every label) do
   * not: reading every captioned item is a scan of the store, too slow to repeat after each keypress.
   */
  noticed(events: readonly StoredEvent[]): void {
    if (events.some((event) => CAPTION_EVENTS.has(event.kind))) this.captions = undefined;
  }

  /** The dataset's distinct captions, read again only after a caption changed. */
  private distinctCaptions(): string[] {
    if (this.captions) return this.captions;
    const captions = new Set<string>();
    for (const item of this.store.iterateItems({ hasCaption: true })) {
      for (const caption of item.captions) if (caption.text.trim() !== '') captions.add(caption.text.trim());
    }
    this.captions = [...captions];
    return this.captions;
  }
}

const CAPTION_EVENTS = new Set<string>(['caption', 'add_caption', 'remove_caption']);

function rowNorms(vectors: Float32Array, dim: number): Float32Array {
  const norms = new Float32Array(vectors.length / dim);
  for (let row = 0; row < norms.length; row++) {
    let sum = 0;
    for (let j = 0; j < dim; j++) sum += vectors[row * dim + j]! ** 2;
    norms[row] = Math.sqrt(sum);
  }
  return norms;
}

/** Keeps `best` sorted by score, descending, at most `k` long. */
function insertSorted(best: { row: number; score: number }[], hit: { row: number; score: number }, k: number): void {
  let at = best.length;
  while (at > 0 && best[at - 1]!.score < hit.score) at--;
  best.splice(at, 0, hit);
  if (best.length > k) best.pop();
}
