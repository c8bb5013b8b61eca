import { createHash } from 'node:crypto';
import path from 'node:path';
import type { EmbeddingMatrix } from '../embed';
import { InvalidArgumentError } from '../errors';
import type { ItemFilter, StoreReader } from '../store';
import { QdrantNamedIndex, QdrantVersions, type SearchHit as VectorHit } from '../vectors';
import type { JointIndex } from './joint-index';
import { payloadOf, SEARCH_PAYLOAD_INDEXES, toSearchFilter, type SearchPayload } from './qdrant-payload';

/** Where natural-language search runs when it runs in Qdrant. */
export interface QdrantSearchConfig {
  url: string;
  apiKey?: string;
  /** The alias searches go through; each space is a collection `<collection>-<version>` behind it. */
  collection: string;
}

/**
 * The Qdrant settings from the environment: QDRANT_URL (none: search stays in memory), QDRANT_API_KEY, and
 * QDRANT_COLLECTION (default: `quicksort-<folder>-<hash of the dataset's path>`, one per dataset).
 */
export function qdrantSearchConfig(root: string, env: NodeJS.ProcessEnv = process.env): QdrantSearchConfig | undefined {
  const url = env.QDRANT_URL?.trim();
  if (!url) return undefined;
  const absolute = path.resolve(root);
  const folder = path.basename(absolute).replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 64) || 'dataset';
  const collection = env.QDRANT_COLLECTION?.trim() || `quicksort-${folder}-${createHash('sha256').update(absolute).digest('hex').slice(0, 8)}`;
  const apiKey = env.QDRANT_API_KEY?.trim();
  return { url, collection, ...(apiKey ? { apiKey } : {}) };
}

/** A search space as the text search holds it: the items in the joint space, and their image embeddings on demand. */
export interface SpaceContents {
  /** Which tower made the space, and of which image model's embeddings. */
  kind: string;
  imageModel: string;
  index: JointIndex;
  /** The image embeddings of the same items (read only when the space must be uploaded). */
  images: () => EmbeddingMatrix;
}

/** Events read per payload catch-up; more than this since the last search and every payload is written again. */
const EVENTS_PER_CATCH_UP = 10_000;

/**
 * One search space in Qdrant: a collection version whose points carry the image embedding (`image`) and the
 * joint-space vector (`joint`) with the item's payload, behind the alias `config.collection`. Opening a space
 * the alias does not name yet uploads it whole into a fresh version (named by a digest of the space), then
 * moves the alias in one atomic request: a search of the space before keeps answering from its own version
 * during the upload and after; the version before that is dropped. The store stays the truth: payloads are
 * brought up to date from its event log before each search, and any version can be rebuilt from it.
 */
export class QdrantSpace {
  private syncedSeq: number;
  private catchingUp: Promise<void> | undefined;

  private constructor(
    private readonly index: QdrantNamedIndex,
    private readonly store: StoreReader,
    syncedSeq: number,
  ) {
    this.syncedSeq = syncedSeq;
  }

  /** The collection version this space searches. */
  get collection(): string {
    return this.index.collection;
  }

  static async open(config: QdrantSearchConfig, space: SpaceContents, store: StoreReader): Promise<QdrantSpace> {
    const versions = new QdrantVersions({ url: config.url, alias: config.collection, ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}) });
    let images: EmbeddingMatrix | undefined;
    const read = space.images;
    space = { ...space, images: () => (images ??= read()) }; // read once, and only for an upload
    const version = spaceDigest(space);
    const collection = versions.collectionOf(version);
    const current = await versions.current();
    const index = await QdrantNamedIndex.open({
      url: config.url,
      ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}),
      collection,
      // A version the alias names is complete: taken as it is, without reading the image embeddings. A new one
      // gets both vectors; the joint rows are unit length and the in-memory scan scores them by inner product: so does Qdrant.
      ...(current === collection ? {} : { vectors: { image: { dim: space.images().dim, metric: 'cosine' as const }, joint: { dim: space.index.dim, metric: 'dot' as const } } }),
      payloadIndexes: SEARCH_PAYLOAD_INDEXES,
    });
    // Read before the payloads: whatever is written meanwhile is caught up at the first search.
    const seq = store.lastSeq();
    const opened = new QdrantSpace(index, store, seq);
    if (current === collection) {
      await opened.writeAllPayloads();
      return opened;
    }
    await opened.upload(space);
    const before = await versions.switchTo(collection);
    // The version just replaced stays for searches still in flight in it; any older one goes.
    for (const stale of await versions.versions()) if (stale !== collection && stale !== before) await versions.drop(stale);
    return opened;
  }

  /** The `k` items nearest to `query` in the joint space among those `where` lets through: one Qdrant query. */
  async search(query: Float32Array, k: number, where?: ItemFilter): Promise<VectorHit[]> {
    await this.catchUp();
    return this.index.search('joint', query, k, toSearchFilter(where, this.store));
  }

  close(): Promise<void> {
    return this.index.close();
  }

  /** Every point, with both vectors and its payload, in batches. */
  private async upload(space: SpaceContents): Promise<void> {
    const images = space.images();
    const { ids, dim, vectors } = space.index;
    if (images.ids.length !== ids.length || images.ids.some((id, row) => id !== ids[row])) {
      throw new InvalidArgumentError(`the image embeddings of ${space.imageModel} are not of the items of the search space (embedded again meanwhile?); search again`);
    }
    const payloads = this.payloadsOf(ids);
    const batch = this.index.batchSize;
    for (let start = 0; start < ids.length; start += batch) {
      const points = [];
      for (let row = start; row < Math.min(ids.length, start + batch); row++) {
        points.push({
          id: ids[row]!,
          vectors: { image: images.vectors.subarray(row * images.dim, (row + 1) * images.dim), joint: vectors.subarray(row * dim, (row + 1) * dim) },
          payload: { ...payloads.get(ids[row]!)! },
        });
      }
      await this.index.upsert(points);
    }
  }

  /** The payload of each id: deleted items included. */
  private payloadsOf(ids: readonly number[]): Map<number, SearchPayload> {
    const payloads = new Map<number, SearchPayload>();
    for (const deleted of [false, true]) {
      for (const item of this.store.items({ where: { ids: [...ids], deleted } })) payloads.set(item.id, payloadOf(item));
    }
    return payloads;
  }

  /** Brings the payloads of the items touched since the last search up to date (one at a time). */
  private catchUp(): Promise<void> {
    const previous = this.catchingUp ?? Promise.resolve();
    const next = previous.then(async () => {
      const seq = this.store.lastSeq();
      if (seq === this.syncedSeq) return;
      const events = this.store.events({ sinceSeq: this.syncedSeq, limit: EVENTS_PER_CATCH_UP + 1 });
      if (events.length > EVENTS_PER_CATCH_UP) await this.writeAllPayloads();
      else {
        const touched = [...new Set(events.flatMap((event) => (event.itemId === null ? [] : [event.itemId])))];
        await this.writePayloads(touched);
      }
      this.syncedSeq = Math.max(seq, events[events.length - 1]?.seq ?? seq);
    });
    // A failed catch-up is tried again at the next search.
    this.catchingUp = next.catch(() => undefined);
    return next;
  }

  private async writeAllPayloads(): Promise<void> {
    await this.writePayloads(Array.from(this.store.itemIds({}), Number).concat(Array.from(this.store.itemIds({ deleted: true }), Number)));
  }

  /** One payload update per distinct payload among these items (usually a handful). */
  private async writePayloads(ids: readonly number[]): Promise<void> {
    const groups = new Map<string, { payload: SearchPayload; ids: number[] }>();
    for (const [id, payload] of this.payloadsOf(ids)) {
      const key = JSON.stringify(payload);
      const group = groups.get(key) ?? { payload, ids: [] };
      group.ids.push(id);
      groups.set(key, group);
    }
    for (const { payload, ids: members } of groups.values()) await this.index.setPayload(members, { ...payload });
  }
}

/** The version of a space: a digest of what makes it (tower, image model, items, their joint vectors). */
export function spaceDigest(space: Pick<SpaceContents, 'kind' | 'imageModel' | 'index'>): string {
  const hash = createHash('sha256').update(JSON.stringify({ kind: space.kind, imageModel: space.imageModel, dim: space.index.dim, count: space.index.ids.length }));
  hash.update(new Uint8Array(Int32Array.from(space.index.ids).buffer));
  const { vectors } = space.index;
  hash.update(new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
  return hash.digest('hex').slice(0, 16);
}
