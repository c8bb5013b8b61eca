import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { NotFoundError } from '../errors';
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

  /**
   * The whole image a crop was cut from (a COCO import's, in `imagesDir`), and where the crop's box lies in
   * it once resized; kept in memory like the others.
   */
  async context(item: ItemWithState, size: number, imagesDir: string | undefined): Promise<EncodedImage> {
    if (!imagesDir || !item.sourceUri || !item.box) {
      throw new NotFoundError(`item ${item.id} (${item.uri}) is not a crop of a COCO image, so it has no context image; ask without context`);
    }
    const key = ImageCache.key(item.id, item.hash, size, true);
    const held = this.memory.get(key);
    if (held) return held;
    const file = path.resolve(imagesDir, item.sourceUri);
    const image = await encodeImage(file, size, `the source image of item ${item.id} (${item.sourceUri})`);
    const meta = await sharp(await readFile(file)).metadata();
    // Boxes are in the image as displayed (after EXIF orientation), like the resized output.
    const upright = (meta.orientation ?? 1) >= 5 ? meta.height : meta.width;
    const scale = upright ? image.width / upright : 1;
    const [x, y, w, h] = item.box;
    const framed = { ...image, contextBox: [x * scale, y * scale, w * scale, h * scale].map((v) => Math.round(v * 10) / 10) as [number, number, number, number] };
    this.memory.set(key, framed);
    return framed;
  }

  close(): void {
    this.disk?.close();
  }
}
