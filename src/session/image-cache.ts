/** One encoded image as the session sends it. */
export interface EncodedImage {
  bytes: Uint8Array;
  mime: string;
  width: number;
  height: number;
  /** For a crop's context image: where the crop's box lies in it, in its pixels. */
  contextBox?: [number, number, number, number];
}

/**
 * The images the engine already resized, by item, size and file content, shared by every session on a
 * dataset: a grid scrolled back and forth, or two people on the same items, cost one resize each. Bounded by
 * bytes, least recently used out first.
 */
export class ImageCache {
  private readonly entries = new Map<string, EncodedImage>();
  private bytes = 0;

  constructor(readonly maxBytes = 64 * 1024 * 1024) {}

  /** The key of an item's image: its file hash makes a changed file a new entry. */
  static key(itemId: number, hash: string, size: number, context: boolean): string {
    return `${itemId}:${hash}:${size}:${context ? 'c' : 'i'}`;
  }

  get(key: string): EncodedImage | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      // Re-insert: a Map iterates in insertion order, so the first key is always the least recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, image: EncodedImage): void {
    if (image.bytes.byteLength > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.bytes.byteLength;
    }
    this.entries.set(key, image);
    this.bytes += image.bytes.byteLength;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes.byteLength;
    }
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}
