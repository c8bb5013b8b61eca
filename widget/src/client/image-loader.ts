import type { SessionConnection } from './session-client';

export type ImageState = 'idle' | 'queued' | 'loading' | 'ready' | 'error';

export interface ImageEntry {
  readonly key: string;
  readonly itemId: number;
  readonly size: number;
  readonly context: boolean;
  state: ImageState;
  url?: string;
  /** Decoded already (img.decode()): attaching it paints in the same frame. */
  element?: HTMLImageElement;
  width: number;
  height: number;
  /** Context images: where the crop's box lies, in this image's pixels. */
  contextBox?: [number, number, number, number];
  error?: string;
  /** Bumped on every change, for useSyncExternalStore. */
  version: number;
}

/** Lower runs first. Focus images are never held back by thumbnails. */
export const PRIORITY = { current: 0, next: 1, visible: 2, nearby: 3 } as const;

/** Images up to this size (px) are thumbnails: asked for in batches, shown from data: URLs (the engine's limit too). */
export const THUMBNAIL_MAX = 384;

export interface ImageLoaderOptions {
  /** `image` requests in flight at once (focus images ahead); the current focus image always goes at once. */
  maxInFlight?: number;
  /** Images kept (object URLs and their decoded elements); the least recently used unwatched ones go first. */
  maxEntries?: number;
  /** Thumbnails kept (data: URLs, about 5 KiB each): a few screens of the grid. */
  maxThumbnails?: number;
  /** Thumbnails asked for in one `thumbnails` request. */
  batchSize?: number;
  /** `thumbnails` requests in flight at once. */
  maxBatches?: number;
}

/**
 * Images over the session protocol. Focus images (and anything larger than {@link THUMBNAIL_MAX}): one `image`
 * request each, the bytes from the reply's buffer as an object URL, decoded before anyone shows them and the
 * decoded element kept, so a keypress paints the prefetched next image in the same frame. Thumbnails (grid
 * cells, neighbour strips): many per `thumbnails` request, the base64 in the reply used as a data: URL — no
 * Blob and no object URL, which cost milliseconds each on the main thread — ready as soon as the reply is
 * there (the cell's <img> decodes it asynchronously), nothing to revoke, and no decoded element kept. An engine
 * that does not know `thumbnails` gets `image` requests instead.
 */
export class ImageLoader {
  private readonly entries = new Map<string, ImageEntry>();
  private readonly watchers = new Map<string, Set<() => void>>();
  private waiting: { key: string; priority: number; order: number }[] = [];
  private inflight = 0;
  private batchesInFlight = 0;
  private pumpScheduled = false;
  private order = 0;
  private closed = false;
  /** Off once the engine refused a `thumbnails` request as unknown (an older engine). */
  private batching = true;
  private readonly maxInFlight: number;
  private readonly maxEntries: number;
  private readonly maxThumbnails: number;
  private readonly batchSize: number;
  private readonly maxBatches: number;

  constructor(
    private readonly connection: SessionConnection,
    options: ImageLoaderOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 8;
    this.maxEntries = options.maxEntries ?? 1200;
    this.maxThumbnails = options.maxThumbnails ?? 400;
    this.batchSize = options.batchSize ?? 12;
    this.maxBatches = options.maxBatches ?? 2;
  }

  /** Whether an image travels as a thumbnail (batched, a data: URL). */
  static isThumbnail(entry: { size: number; context: boolean }): boolean {
    return !entry.context && entry.size <= THUMBNAIL_MAX;
  }

  static key(itemId: number, size: number, context = false): string {
    return `${itemId}@${size}${context ? 'c' : ''}`;
  }

  /** The entry for an image (created idle), marked as just used. */
  entry(itemId: number, size: number, context = false): ImageEntry {
    const key = ImageLoader.key(itemId, size, context);
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
    } else {
      entry = { key, itemId, size, context, state: 'idle', width: 0, height: 0, version: 0 };
    }
    this.entries.set(key, entry);
    return entry;
  }

  /** Asks for an image unless it is there or on its way; a more urgent ask moves it up. */
  load(itemId: number, size: number, priority: number, context = false): ImageEntry {
    const entry = this.entry(itemId, size, context);
    if (entry.state === 'idle') {
      entry.state = 'queued';
      this.waiting.push({ key: entry.key, priority, order: this.order++ });
      this.schedulePump();
    } else if (entry.state === 'queued') {
      const waiting = this.waiting.find((w) => w.key === entry.key);
      if (waiting && priority < waiting.priority) waiting.priority = priority;
      // The newest ask of a priority goes first: what scrolled into view last is what is on screen.
      if (waiting) waiting.order = this.order++;
      this.schedulePump();
    }
    return entry;
  }

  /** Not wanted any more (a thumbnail scrolled away): dropped if not asked for yet. */
  cancel(itemId: number, size: number, context = false): void {
    const entry = this.entries.get(ImageLoader.key(itemId, size, context));
    if (entry?.state !== 'queued') return;
    this.waiting = this.waiting.filter((w) => w.key !== entry.key);
    entry.state = 'idle';
  }

  subscribe(key: string, listener: () => void): () => void {
    let set = this.watchers.get(key);
    if (!set) this.watchers.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0) this.watchers.delete(key);
    };
  }

  /**
   * Requests go out at the end of the current task: the cells of a rendered row ask one after another, and
   * their thumbnails travel in one batch.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      if (!this.closed) this.pump();
    });
  }

  private pump(): void {
    if (this.waiting.length === 0) return;
    this.waiting.sort((a, b) => a.priority - b.priority || b.order - a.order);
    const keep: typeof this.waiting = [];
    const batches = new Map<number, ImageEntry[]>();
    for (const next of this.waiting) {
      const entry = this.entries.get(next.key);
      if (!entry || entry.state !== 'queued') continue;
      if (this.batching && ImageLoader.isThumbnail(entry)) {
        // The most urgent thumbnails of a size fill a batch; a batch goes when a slot is free.
        let batch = batches.get(entry.size);
        if (!batch && this.batchesInFlight + batches.size < this.maxBatches) batches.set(entry.size, (batch = []));
        if (batch && batch.length < this.batchSize) {
          batch.push(entry);
          if (batch.length === this.batchSize) {
            this.requestBatch(batch);
            batches.delete(entry.size);
          }
          continue;
        }
      } else if (next.priority === PRIORITY.current || this.inflight < this.maxInFlight) {
        this.request(entry);
        continue;
      }
      keep.push(next);
    }
    this.waiting = keep;
    for (const batch of batches.values()) if (batch.length > 0) this.requestBatch(batch);
  }

  private requestBatch(batch: ImageEntry[]): void {
    const size = batch[0]!.size;
    for (const entry of batch) entry.state = 'loading';
    this.batchesInFlight++;
    this.connection.request({ type: 'thumbnails', itemIds: batch.map((entry) => entry.itemId), maxSize: size }, ({ message }) => {
      this.batchesInFlight--;
      if (message.type === 'thumbnails') {
        for (const image of message.images) {
          const entry = this.entries.get(ImageLoader.key(image.itemId, size));
          if (!entry || entry.state !== 'loading') continue;
          if ('data' in image) {
            // Ready at once: the cell's <img decoding="async"> decodes it off the main thread, so every
            // thumbnail of the reply shows in one render (a decode() each would be a render each, and parse
            // the data: URL twice).
            Object.assign(entry, { state: 'ready', url: `data:${image.mime};base64,${image.data}`, width: image.width, height: image.height });
            this.changed(entry);
          } else {
            this.fail(entry, image.problem);
          }
        }
        this.evict();
        // Anything the reply left out is asked for again later, not stuck loading.
        for (const entry of batch) if (entry.state === 'loading' && !message.images.some((image) => image.itemId === entry.itemId)) entry.state = 'idle';
      } else if (message.type === 'refused' && message.code === 'protocol' && /unknown message type/.test(message.reason)) {
        // An engine from before `thumbnails`: one `image` request per thumbnail, as it used to be.
        this.batching = false;
        for (const entry of batch) this.requeue(entry);
      } else {
        const reason = message.type === 'refused' ? message.reason : 'the engine sent no thumbnails';
        for (const entry of batch) this.fail(entry, reason);
      }
      this.pump();
    });
  }

  private requeue(entry: ImageEntry): void {
    if (entry.state !== 'loading') return;
    entry.state = 'queued';
    this.waiting.push({ key: entry.key, priority: PRIORITY.visible, order: this.order++ });
  }

  /** The <img> showing an entry could not decode it (a thumbnail is not decoded before it is shown). */
  broken(entry: ImageEntry): void {
    if (entry.state === 'ready') this.fail(entry, 'the browser could not decode the image');
  }

  private fail(entry: ImageEntry, reason: string): void {
    entry.state = 'error';
    entry.error = reason;
    this.changed(entry);
  }

  private request(entry: ImageEntry): void {
    entry.state = 'loading';
    this.inflight++;
    this.connection.request({ type: 'image', itemId: entry.itemId, maxSize: entry.size, ...(entry.context ? { context: true } : {}) }, ({ message, buffers }) => {
      this.inflight--;
      if (message.type === 'image' && buffers[0]) {
        const bytes = buffers[0];
        // A thumbnail asked for one by one (an older engine) still becomes a data: URL: cheaper than a Blob.
        const url = ImageLoader.isThumbnail(entry) ? dataUrl(bytes, message.mime) : URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: message.mime }));
        void this.decode(entry, url, message.context?.box);
      } else {
        this.fail(entry, message.type === 'refused' ? message.reason : 'the engine sent no image bytes');
      }
      this.pump();
    });
  }

  private async decode(entry: ImageEntry, url: string, box?: [number, number, number, number]): Promise<void> {
    const image = new Image();
    image.decoding = 'async';
    image.src = url;
    try {
      await image.decode();
    } catch {
      revoke(url);
      return this.fail(entry, 'the browser could not decode the image');
    }
    if (this.closed || !this.entries.has(entry.key)) {
      revoke(url);
      return;
    }
    // A thumbnail keeps only its URL: the <img> that shows it decodes it again, cheaply, and nothing holds
    // decoded pixels of cells scrolled away.
    const element = ImageLoader.isThumbnail(entry) ? undefined : image;
    Object.assign(entry, { state: 'ready', url, element, width: image.naturalWidth, height: image.naturalHeight, contextBox: box });
    this.changed(entry);
    this.evict();
  }

  private changed(entry: ImageEntry): void {
    entry.version++;
    for (const listener of this.watchers.get(entry.key) ?? []) listener();
  }

  /**
   * Least recently used first (Map order), thumbnails and larger images each within their own cap; never an
   * image someone watches or that is on its way.
   */
  private evict(): void {
    let thumbnails = 0;
    for (const entry of this.entries.values()) if (ImageLoader.isThumbnail(entry)) thumbnails++;
    let excessThumbnails = thumbnails - this.maxThumbnails;
    let excessImages = this.entries.size - thumbnails - this.maxEntries;
    for (const [key, entry] of this.entries) {
      if (excessThumbnails <= 0 && excessImages <= 0) break;
      const thumbnail = ImageLoader.isThumbnail(entry);
      if ((thumbnail ? excessThumbnails : excessImages) <= 0) continue;
      if (this.watchers.has(key) || entry.state === 'loading' || entry.state === 'queued') continue;
      if (entry.url) revoke(entry.url);
      this.entries.delete(key);
      if (thumbnail) excessThumbnails--;
      else excessImages--;
    }
  }

  /** Images held, by state (benchmarks, tests). */
  counts(): Record<ImageState, number> {
    const counts: Record<ImageState, number> = { idle: 0, queued: 0, loading: 0, ready: 0, error: 0 };
    for (const entry of this.entries.values()) counts[entry.state]++;
    return counts;
  }

  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) if (entry.url) revoke(entry.url);
    this.entries.clear();
    this.watchers.clear();
    this.waiting = [];
  }
}

function revoke(url: string): void {
  if (url.startsWith('blob:')) URL.revokeObjectURL(url);
}

/** Bytes as a data: URL (base64 in chunks: String.fromCharCode takes a bounded number of arguments). */
function dataUrl(bytes: Uint8Array, mime: string): string {
  let binary = '';
  for (let offset = 0; offset < bytes.length; offset += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(offset, offset + 0x8000) as unknown as number[]);
  return `data:${mime};base64,${btoa(binary)}`;
}

/** Display sizes in steps, so a resized window reuses the images it has. */
export function sizeBucket(pixels: number): number {
  for (const step of [128, 192, 256, 384, 512, 768, 1024, 1536, 2048]) if (pixels <= step) return step;
  return 2048;
}
