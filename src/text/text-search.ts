import { statSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../errors';
import { loadEmbeddings, type EmbeddingMatrix } from '../embed';
import type { ItemFilter, StoreReader } from '../store';
import { ADAPTERS_FILE } from './adapter-file';
import { JointIndex } from './joint-index';
import { QdrantSpace, type QdrantSearchConfig } from './qdrant-space';
import { loadTextModel, textModelDir, TEXT_MODEL_FILE } from './model-file';
import { TrainedTower, type TextTower, type TextTowerKind } from './text-tower';
import { readTrainingRecord, TEXT_TRAINING_FILE } from './training-record';

/** The projection of the items into the model's joint space, cached beside the model. */
export const JOINT_CACHE_FILE = 'joint.bin';

/** One search result, best first. */
export interface SearchHit {
  id: number;
  uri: string;
  /** Cosine of the query and the item in the search space, in [-1, 1]. */
  score: number;
  /** Which tower answered: the text model trained on the captions, or the embedding model's own text tower. */
  tower: TextTowerKind;
}

export interface SearchOptions {
  /** How many results (default 20). */
  k?: number;
  /** Only items matching this filter (label, tag, unlabeled, split, …), in the same query. */
  where?: ItemFilter;
}

/**
 * Natural-language search over a dataset's items: a {@link TextTower} (the query's encoder), the items' image
 * embeddings brought into its space (see {@link JointIndex}), and an exact scan of them — of every row, or of
 * the rows a filter lets through. Which tower is chosen by `openTextSearch`; `isStale` says when a newer
 * trained model was saved since, so that a search after a training uses it.
 */
export class TextSearch {
  /** The space in Qdrant that answers instead of the in-memory scan, when one is configured (see {@link useQdrant}). */
  private remote: QdrantSpace | undefined;

  private constructor(
    private readonly store: StoreReader,
    readonly tower: TextTower,
    private readonly index: JointIndex,
    /** The trained files' modification times when this was opened (see {@link trainedSignature}). */
    readonly loadedAt: string,
  ) {}

  /**
   * The trained text model in `root` and the projection of the items embedded by the model it was trained
   * on (cached beside the model); `held`, the embeddings a caller holds already, saves reading them again
   * when they are of that model.
   */
  static openTrained(root: string, store: StoreReader, held?: EmbeddingMatrix): TextSearch {
    const dir = textModelDir(root);
    // Stat first: a model saved between the two is then seen as newer than this one at the next search.
    const file = statOf(path.join(dir, TEXT_MODEL_FILE));
    const model = loadTextModel(dir);
    const record = readTrainingRecord(path.join(dir, TEXT_TRAINING_FILE));
    let embeddings: EmbeddingMatrix;
    try {
      embeddings = held?.modelId === record.imageModel ? held : loadEmbeddings(root, { store, model: record.imageModel });
    } catch (error) {
      if (error instanceof NotFoundError) {
        throw new NotFoundError(`the text model in ${dir} was trained on embeddings of ${record.imageModel}, which ${root} no longer has: embed again or train again (quicksort text train)`, { cause: error });
      }
      throw error;
    }
    const key = { modelMtimeMs: file.mtimeMs, modelBytes: file.size, imageModel: record.imageModel };
    const cacheFile = path.join(dir, JOINT_CACHE_FILE);
    let index = JointIndex.read(cacheFile, key, embeddings.ids);
    if (!index) {
      index = new JointIndex(embeddings.ids, model.jointDim, model.projectImages(embeddings.vectors));
      try {
        index.write(cacheFile, key);
      } catch {
        // Only a cache (a read-only folder, a full disk): the next open projects again.
      }
    }
    return new TextSearch(store, new TrainedTower(model, record.imageModel), index, `${file.mtimeMs}:${modifiedAt(path.join(dir, ADAPTERS_FILE))}`);
  }

  /**
   * A search in the space of `tower` over `embeddings` (of the tower's image model), brought into it once,
   * in memory. `root` is read only for the trained model's modification time, so that one saved later is noticed.
   */
  static withTower(root: string, store: StoreReader, tower: TextTower, embeddings: EmbeddingMatrix): TextSearch {
    return TextSearch.withIndex(root, store, tower, new JointIndex(embeddings.ids, tower.dim, tower.projectImages(embeddings.vectors)));
  }

  /** A search in the space of `tower` over items already brought into it (`index`, in the tower's space). */
  static withIndex(root: string, store: StoreReader, tower: TextTower, index: JointIndex): TextSearch {
    return new TextSearch(store, tower, index, trainedSignature(root));
  }

  /**
   * Answers from Qdrant from now on: the space is uploaded (as the named vectors `image` and `joint` with
   * each item's payload) unless the alias names it already; see {@link QdrantSpace}. `images` gives the
   * items' image embeddings of the tower's image model, read only for an upload.
   */
  async useQdrant(config: QdrantSearchConfig, images: () => EmbeddingMatrix): Promise<void> {
    const space = await QdrantSpace.open(config, { kind: this.tower.kind, imageModel: this.tower.imageModel, index: this.index, images }, this.store);
    const before = this.remote;
    this.remote = space;
    await before?.close();
  }

  /** The Qdrant collection version that answers, undefined when the search runs in memory. */
  get qdrantCollection(): string | undefined {
    return this.remote?.collection;
  }

  /** True when a trained file on disk is not the one seen at open (a training finished since, or one was removed). */
  isStale(root: string): boolean {
    return trainedSignature(root) !== this.loadedAt;
  }

  /** The items nearest to `query` in the tower's space, best first, only those matching `options.where`. */
  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    if (typeof query !== 'string' || query.trim() === '') throw new InvalidArgumentError('the search text is empty; say what to look for, e.g. "a dog asleep on a sofa"');
    const k = options.k ?? 20;
    if (!Number.isInteger(k) || k <= 0) throw new InvalidArgumentError(`k must be a positive whole number; got ${String(k)}`);
    const vector = await this.tower.encodeTexts([query]);
    // The filter is read after the query is encoded: it then sees every write made meanwhile.
    const hits = this.remote ? await this.remote.search(vector, k, options.where) : this.scan(vector, k, options.where);
    const uris = new Map(this.store.items({ where: { ids: hits.map((hit) => hit.id) } }).map((item) => [item.id, item.uri]));
    const tower = this.tower.kind;
    return hits.flatMap((hit) => {
      const uri = uris.get(hit.id);
      return uri === undefined ? [] : [{ id: hit.id, uri, score: hit.score, tower }];
    });
  }

  /** The in-memory answer: every row, or the rows the filter lets through; deleted items are never answered. */
  private scan(vector: Float32Array, k: number, where: ItemFilter | undefined): { id: number; score: number }[] {
    const toHits = (rows: { row: number; score: number }[]) => rows.map((hit) => ({ id: this.index.ids[hit.row]!, score: hit.score }));
    if (where) return toHits(this.index.search(vector, k, this.acceptedRows(where)));
    const hits = toHits(this.index.search(vector, k));
    // Scanning every row is fastest; only when a deleted item came up is the scan run again without them (k answers, not fewer).
    const live = new Set(this.store.itemIds({ ids: hits.map((hit) => hit.id) }));
    return live.size === hits.length ? hits : toHits(this.index.search(vector, k, this.acceptedRows({})));
  }

  /** Frees the tower (a model's worker thread) and the Qdrant client. */
  async close(): Promise<void> {
    await this.remote?.close();
    await this.tower.close();
  }

  /** The rows of the items the filter lets through (one store query), in row order. */
  private acceptedRows(where: ItemFilter): Int32Array {
    const rowOf = this.index.rows;
    const rows: number[] = [];
    for (const id of this.store.itemIds(where)) {
      const row = rowOf.get(id);
      if (row !== undefined) rows.push(row);
    }
    return Int32Array.from(rows);
  }
}

/** The modification times of the trained text model and of the trained adapters (-1 for one absent): a change means a newer training. */
export function trainedSignature(root: string): string {
  const dir = textModelDir(root);
  return `${modifiedAt(path.join(dir, TEXT_MODEL_FILE))}:${modifiedAt(path.join(dir, ADAPTERS_FILE))}`;
}

function statOf(file: string): { mtimeMs: number; size: number } {
  try {
    return statSync(file);
  } catch {
    return { mtimeMs: -1, size: -1 }; // none: loading it says so, naming the file
  }
}

function modifiedAt(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}
