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
 * The images of one run's prompts, each scaled and encoded once however many prompts show it (a
 * demonstration is in many), named by the item's content hash — the name prompt digests use. A thumbnail of
 * exactly the size asked for is taken from the thumbnail cache instead of decoding the file again.
 */
export class PromptImages {
  private readonly files = new Map<string, string>();
  private readonly encoded = new Map<string, Promise<PromptImage>>();

  constructor(
    private readonly root: string,
    readonly maxSide: number,
    private readonly thumbnails?: ThumbnailSource,
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
    const file = this.files.get(hash);
    if (!file) throw new NotFoundError(`no item of the run has the image ${hash}`);
    return promptImage(file, this.maxSide);
  }
}
