import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadEmbeddings, type EmbeddingMatrix } from '../embed';
import { InvalidArgumentError, ModelError, NotFoundError } from '../errors';
import type { ItemFilter, StoreReader } from '../store';
import { loadTextModel, TEXT_TRAINING_FILE, textModelDir, type TextModel, type TextSearch } from '../text';
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
 * Image → captions: the dataset's distinct captions nearest to an item's image in the text model's joint
 * space. The captions are encoded once per model (and again when captions were added since), the item's
 * embedding read alone from the cache of the image model the text model was trained on.
 */
export class CaptionSuggester {
  private encoded: { search: TextSearch; model: TextModel; imageModel: string; captions: string[]; joint: Float32Array; storeSeq: number } | undefined;

  constructor(
    private readonly root: string,
    private readonly store: StoreReader & { lastSeq(): number },
  ) {}

  suggest(search: TextSearch, itemId: number, k: number): { text: string; score: number }[] {
    const encoded = this.encode(search);
    const item = this.store.item(itemId);
    const own = new Set(item.captions.map((caption) => caption.text.trim()));
    const embedding = loadEmbeddings(this.root, { store: this.store, model: encoded.imageModel, ids: new Set([itemId]) });
    if (embedding.ids.length === 0) throw new NotFoundError(`item ${itemId} has no embedding of ${encoded.imageModel}: embed the dataset again (quicksort embed) to suggest captions for it`);
    const image = encoded.model.projectImages(embedding.vectors);
    const dim = encoded.model.jointDim;
    const best: { row: number; score: number }[] = [];
    for (let row = 0; row < encoded.captions.length; row++) {
      if (own.has(encoded.captions[row]!)) continue;
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += image[j]! * encoded.joint[row * dim + j]!;
      if (best.length === k && dot <= best[k - 1]!.score) continue;
      insertSorted(best, { row, score: dot }, k);
    }
    return best.map((hit) => ({ text: encoded.captions[hit.row]!, score: hit.score }));
  }

  private encode(search: TextSearch): NonNullable<CaptionSuggester['encoded']> {
    const seq = this.store.lastSeq();
    if (this.encoded && this.encoded.search === search && this.encoded.storeSeq === seq) return this.encoded;
    const dir = textModelDir(this.root);
    const model = this.encoded?.search === search ? this.encoded.model : loadTextModel(dir);
    const captions = new Set<string>();
    for (const item of this.store.iterateItems({ hasCaption: true })) {
      for (const caption of item.captions) if (caption.text.trim() !== '') captions.add(caption.text.trim());
    }
    const texts = [...captions];
    this.encoded = { search, model, imageModel: imageModelOf(dir), captions: texts, joint: texts.length ? model.encodeText(texts) : new Float32Array(0), storeSeq: seq };
    return this.encoded;
  }
}

function imageModelOf(dir: string): string {
  const file = path.join(dir, TEXT_TRAINING_FILE);
  let imageModel: unknown;
  try {
    imageModel = (JSON.parse(readFileSync(file, 'utf8')) as { imageModel?: unknown }).imageModel;
  } catch (error) {
    throw new ModelError(`cannot read ${file} (the text model's training record): ${(error as Error).message}; train again (quicksort text train)`, { cause: error });
  }
  if (typeof imageModel !== 'string' || imageModel === '') throw new ModelError(`${file} has no "imageModel"; train again (quicksort text train)`);
  return imageModel;
}

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
