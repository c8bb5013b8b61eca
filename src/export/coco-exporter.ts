import { createReadStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { ItemWithState } from '../store';
import { itemsOf } from './snapshot';
import type { ExportBatch, ExportContext, Exporter, ExportWriter } from './types';
import { writeChunks } from './write-chunks';

/**
 * A fresh COCO file for a folder dataset: one `images` entry per item (`file_name` is its path relative to
 * the dataset folder), the classes as `categories` (ids from 1 in class-index order), and one
 * image-level annotation per labeled item — `image_id` and `category_id` without a box, the way COCO's
 * caption files annotate whole images. A model's or VLM's label carries its confidence as `score` (the key
 * COCO results use) and every label its `label_source`. Captions (the one shown as `caption`, all of them as
 * `captions`), tags and splits ride on the image entry.
 *
 * The `captions` kind writes a COCO captions file instead (the layout of `captions_train2017.json`, which
 * `quicksort captions import --coco` reads back): the same images, one `{ id, image_id, caption }` annotation
 * per caption of each item, no categories.
 *
 * Images and annotations are two arrays of one JSON object, but the items stream past once: annotations go
 * to a scratch file beside the output and are appended at the end, so memory stays bounded.
 */
type CocoKind = 'labels' | 'captions';

class CocoWriter implements ExportWriter {
  private imageCount = 0;
  private annotationCount = 0;
  private readonly classIndex: Map<string, number>;
  private readonly classes: string[];

  private constructor(
    private readonly kind: CocoKind,
    private readonly context: ExportContext,
    private readonly file: FileHandle,
    private readonly scratch: FileHandle,
    private readonly scratchPath: string,
  ) {
    this.classes = [...context.classes];
    this.classIndex = new Map(this.classes.map((name, index) => [name, index]));
  }

  static async open(context: ExportContext, kind: CocoKind): Promise<CocoWriter> {
    const file = await open(context.path, 'w');
    const scratchPath = `${context.path}.annotations`;
    let scratch: FileHandle;
    try {
      scratch = await open(scratchPath, 'w');
    } catch (error) {
      await file.close();
      throw error;
    }
    const writer = new CocoWriter(kind, context, file, scratch, scratchPath);
    const info = {
      description: `QuickSort export of ${context.source.root}`,
      version: '1.0',
      year: new Date().getUTCFullYear(),
      date_created: new Date().toISOString(),
    };
    await writer.append(`{"info":${JSON.stringify(info)},"licenses":[],"images":[`);
    return writer;
  }

  async write(batch: ExportBatch): Promise<void> {
    const images: string[] = [];
    const annotations: string[] = [];
    for (const item of itemsOf(batch)) {
      images.push(`${this.imageCount++ === 0 ? '' : ','}\n${JSON.stringify(imageEntry(item))}`);
      for (const annotation of this.annotationsOf(item)) {
        annotations.push(`${this.annotationCount++ === 0 ? '' : ','}\n${JSON.stringify({ id: this.annotationCount, ...annotation })}`);
      }
    }
    await this.append(images.join(''));
    if (annotations.length > 0) await writeChunks(this.scratch, [Buffer.from(annotations.join(''), 'utf8')]);
  }

  async close(): Promise<{ files: string[] }> {
    await this.scratch.close();
    await this.append('\n],"annotations":[');
    for await (const chunk of createReadStream(this.scratchPath, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      this.context.addBytes(await writeChunks(this.file, [chunk]));
    }
    await rm(this.scratchPath, { force: true });
    if (this.kind === 'captions') {
      await this.append('\n]}\n');
    } else {
      const categories = this.classes.map((name, index) => JSON.stringify({ id: index + 1, name, supercategory: '' }));
      await this.append(`\n],"categories":[\n${categories.join(',\n')}\n]}\n`);
    }
    await this.file.close();
    return { files: [] };
  }

  async abort(): Promise<void> {
    await this.scratch.close().catch(() => undefined);
    await this.file.close().catch(() => undefined);
    await rm(this.scratchPath, { force: true }).catch(() => undefined);
  }

  /** An item's annotations, without their ids: its label (image-level), or one per caption. */
  private annotationsOf(item: ItemWithState): Record<string, unknown>[] {
    if (this.kind === 'captions') return item.captions.map((caption) => ({ image_id: item.id, caption: caption.text }));
    if (item.label === null) return [];
    const annotation: Record<string, unknown> = { image_id: item.id, category_id: this.categoryId(item.label), label_source: item.labelSource };
    if (item.confidence !== null) annotation.score = item.confidence;
    return [annotation];
  }

  private categoryId(label: string): number {
    let index = this.classIndex.get(label);
    if (index === undefined) {
      index = this.classes.push(label) - 1;
      this.classIndex.set(label, index);
    }
    return index + 1;
  }

  private async append(text: string): Promise<void> {
    this.context.addBytes(await writeChunks(this.file, [Buffer.from(text, 'utf8')]));
  }
}

function imageEntry(item: ItemWithState): Record<string, unknown> {
  const entry: Record<string, unknown> = { id: item.id, file_name: item.uri, width: item.width, height: item.height };
  if (item.split !== null) entry.split = item.split;
  if (item.caption !== null) entry.caption = item.caption;
  if (item.captions.length > 0) entry.captions = item.captions.map((caption) => caption.text);
  if (item.tags.length > 0) entry.tags = item.tags;
  return entry;
}

/** COCO JSON; datasets imported from COCO go through the COCO bridge instead (see coco-bridge.ts). */
export const cocoExporter: Exporter = {
  format: 'coco',
  description: 'COCO JSON: a fresh file with image-level labels as categories (datasets imported from COCO: the original file, corrected)',
  target: 'file',
  embeddings: false,
  batchRows: 8192,
  open: (context) => CocoWriter.open(context, 'labels'),
};

/** A COCO captions file: every caption of every item, as COCO's `captions_*.json` lay them out. */
export const cocoCaptionsExporter: Exporter = {
  format: 'coco-captions',
  description: 'COCO captions JSON: the images and one annotation per caption (the layout of captions_train2017.json)',
  target: 'file',
  embeddings: false,
  batchRows: 8192,
  open: (context) => CocoWriter.open(context, 'captions'),
};
