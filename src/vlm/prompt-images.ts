import path from 'node:path';
import { NotFoundError } from '../errors';
import { promptImage } from './images';
import type { PromptImage } from './types';

/**
 * Thumbnails made before, by content hash and size: the session's thumbnail cache fits
 * (`ThumbnailCache` of src/session). A port, so src/vlm does not depend on the session that queues its work.
 */
export interface ThumbnailSource {
  get(hash: string, size: number): { bytes: Uint8Array; mime: string } | undefined;
}

/**
 * Prompt images kept across runs, by content hash and size, the least recently used dropped beyond
 * `capacity`: a queue that runs every few labels shows the same labelled neighbours round after round, and
 * encoding them again each round cost its thread more than anything else it does (BENCHMARKS.md).
 */
export class PromptImageCache {
  private readonly kept = new Map<string, PromptImage>();

  constructor(readonly capacity = 512) {}

  get(hash: string, size: number): PromptImage | undefined {
    const key = `${size}:${hash}`;
    const image = this.kept.get(key);
    if (image) {
      // Most recently used last: Map keeps insertion order.
      this.kept.delete(key);
      this.kept.set(key, image);
    }
    return image;
  }

  set(hash: string, size: number, image: PromptImage): void {
    const key = `${size}:${hash}`;
    this.kept.delete(key);
    this.kept.set(key, image);
    while (this.kept.size > this.capacity) this.kept.delete(this.kept.keys().next().value!);
  }

  get size(): number {
    return this.kept.size;
  }
}

/**
 * The images of one run's prompts, each scaled and encoded once however many prompts show it (a
 * demonstration is in many), named by the item's content hash — the name prompt digests use. A thumbnail of
 * exactly the size asked for is taken from the thumbnail cache, or one encoded by an earlier run from the
 * shared {@link PromptImageCache}, instead of decoding the file again.
 */
export class PromptImages {
  private readonly files = new Map<string, string>();
  private readonly encoded = new Map<string, Promise<PromptImage>>();

  constructor(
    private readonly root: string,
    readonly maxSide: number,
    private readonly thumbnails?: ThumbnailSource,
    private readonly shared?: PromptImageCache,
  ) {}

  /** Makes an item's image loadable; returns its name in prompts. */
  add(item: { hash: string; uri: string }): string {
    if (!this.files.has(item.hash)) this.files.set(item.hash, path.join(this.root, ...item.uri.split('/')));
    return item.hash;
  }

  /** Images encoded so far. */
  get size(): number {
    return this.encoded.size;
  }

  readonly load = (hash: string): Promise<PromptImage> => {
    let pending = this.encoded.get(hash);
    if (!pending) {
      pending = this.encode(hash);
      this.encoded.set(hash, pending);
      // A failure is not kept: the next prompt that shows the image tries again.
      pending.catch(() => this.encoded.delete(hash));
    }
    return pending;
  };

  private async encode(hash: string): Promise<PromptImage> {
    const thumbnail = this.thumbnails?.get(hash, this.maxSide);
    if (thumbnail && (thumbnail.mime === 'image/jpeg' || thumbnail.mime === 'image/png')) return { mime: thumbnail.mime, data: thumbnail.bytes };
    const kept = this.shared?.get(hash, this.maxSide);
    if (kept) return kept;
    const file = this.files.get(hash);
    if (!file) throw new NotFoundError(`no item of the run has the image ${hash}`);
    const image = await promptImage(file, this.maxSide);
    this.shared?.set(hash, this.maxSide, image);
    return image;
  }
}
