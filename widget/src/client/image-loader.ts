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

export interface ImageLoaderOptions {
  /** Requests in flight at once (thumbnails); the current focus image always goes at once. */
  maxInFlight?: number;
  /** Images kept (object URLs); the least recently used unwatched ones go first. */
  maxEntries?: number;
}

/**
 * Images over the session protocol: `image` requests, the bytes from the reply's buffer as an object URL,
 * decoded before anyone shows them. Prefetching the next items' images here is what lets a keypress paint the
 * next image in the same frame.
 */
export class ImageLoader {
  private readonly entries = new Map<string, ImageEntry>();
  private readonly watchers = new Map<string, Set<() => void>>();
  private waiting: { key: string; priority: number; order: number }[] = [];
  private inflight = 0;
  private order = 0;
  private closed = false;
  private readonly maxInFlight: number;
  private readonly maxEntries: number;

  constructor(
    private readonly connection: SessionConnection,
    options: ImageLoaderOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 8;
    this.maxEntries = options.maxEntries ?? 1200;
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
      this.pump();
    } else if (entry.state === 'queued') {
      const waiting = this.waiting.find((w) => w.key === entry.key);
      if (waiting && priority < waiting.priority) waiting.priority = priority;
      // The newest ask of a priority goes first: what scrolled into view last is what is on screen.
      if (waiting) waiting.order = this.order++;
      this.pump();
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

  private pump(): void {
    while (this.waiting.length > 0) {
      this.waiting.sort((a, b) => a.priority - b.priority || b.order - a.order);
      const next = this.waiting[0]!;
      if (next.priority > PRIORITY.current && this.inflight >= this.maxInFlight) return;
      this.waiting.shift();
      const entry = this.entries.get(next.key);
      if (!entry || entry.state !== 'queued') continue;
      this.request(entry);
    }
  }

  private request(entry: ImageEntry): void {
    entry.state = 'loading';
    this.inflight++;
    this.connection.request({ type: 'image', itemId: entry.itemId, maxSize: entry.size, ...(entry.context ? { context: true } : {}) }, ({ message, buffers }) => {
      this.inflight--;
      if (message.type === 'image' && buffers[0]) {
        void this.decode(entry, buffers[0], message.mime, message.context?.box);
      } else {
        entry.state = 'error';
        entry.error = message.type === 'refused' ? message.reason : 'the engine sent no image bytes';
        this.changed(entry);
      }
      this.pump();
    });
  }

  private async decode(entry: ImageEntry, bytes: Uint8Array, mime: string, box?: [number, number, number, number]): Promise<void> {
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mime }));
    const image = new Image();
    image.decoding = 'async';
    image.src = url;
    try {
      await image.decode();
    } catch {
      URL.revokeObjectURL(url);
      entry.state = 'error';
      entry.error = 'the browser could not decode the image';
      return this.changed(entry);
    }
    if (this.closed || !this.entries.has(entry.key)) {
      URL.revokeObjectURL(url);
      return;
    }
    Object.assign(entry, { state: 'ready', url, element: image, width: image.naturalWidth, height: image.naturalHeight, contextBox: box });
    this.changed(entry);
    this.evict();
  }

  private changed(entry: ImageEntry): void {
    entry.version++;
    for (const listener of this.watchers.get(entry.key) ?? []) listener();
  }

  /** Least recently used first (Map order); never an image someone watches or that is on its way. */
  private evict(): void {
    let excess = this.entries.size - this.maxEntries;
    for (const [key, entry] of this.entries) {
      if (excess <= 0) break;
      if (this.watchers.has(key) || entry.state === 'loading' || entry.state === 'queued') continue;
      if (entry.url) URL.revokeObjectURL(entry.url);
      this.entries.delete(key);
      excess--;
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
    for (const entry of this.entries.values()) if (entry.url) URL.revokeObjectURL(entry.url);
    this.entries.clear();
    this.watchers.clear();
    this.waiting = [];
  }
}

/** Display sizes in steps, so a resized window reuses the images it has. */
export function sizeBucket(pixels: number): number {
  for (const step of [128, 192, 256, 384, 512, 768, 1024, 1536, 2048]) if (pixels <= step) return step;
  return 2048;
}
