import type { ItemWithState } from '../store';
import { encodeImage } from './encode-image';
import { ImageCache, type EncodedImage } from './image-cache';
import { DISK_THUMBNAIL_MAX, ThumbnailCache } from './thumbnail-cache';

/**
 * The images the sessions of one dataset show, resized: kept in memory, thumbnails also on disk (shared by
 * every process and later starts), and each made once however many ask at the same time.
 */
export class SessionImages {
  /** Images resized for display, shared by the sessions: thumbnails are made once per size. */
  readonly memory: ImageCache;
  /** Thumbnails on disk, shared with other processes and later starts; undefined when turned off. */
  readonly disk: ThumbnailCache | undefined;
  /** Images being made now, by cache key: two asks for one image share one resize. */
  private readonly making = new Map<string, Promise<EncodedImage>>();

  constructor(
    private readonly pathOf: (item: { uri: string }) => string,
    options: { memoryBytes?: number; diskFile: string | false; log?: (line: string) => void },
  ) {
    this.memory = new ImageCache(options.memoryBytes);
    this.disk = options.diskFile === false ? undefined : ThumbnailCache.open(options.diskFile, { log: options.log });
  }

  /**
   * An item's image, no larger than `size` px: from memory, else (thumbnails) from the disk cache, else
   * resized by sharp off this thread and kept in both. Throws a NotFoundError the person can read when the
   * file is gone or cannot be decoded.
   */
  async image(item: ItemWithState, size: number): Promise<EncodedImage> {
    const key = ImageCache.key(item.id, item.hash, size, false);
    const held = this.memory.get(key);
    if (held) return held;
    const onDisk = size <= DISK_THUMBNAIL_MAX ? this.disk?.get(item.hash, size) : undefined;
    if (onDisk) {
      this.memory.set(key, onDisk);
      return onDisk;
    }
    let making = this.making.get(key);
    if (!making) {
      making = encodeImage(this.pathOf(item), size, `the image of item ${item.id} (${item.uri})`).then((image) => {
        this.memory.set(key, image);
        if (size <= DISK_THUMBNAIL_MAX) this.disk?.put(item.hash, size, image);
        return image;
      });
      const forget = () => this.making.delete(key);
      making.then(forget, forget);
      this.making.set(key, making);
    }
    return making;
  }

  close(): void {
    this.disk?.close();
  }
}
