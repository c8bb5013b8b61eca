import { open, readFile, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pack as tarPack, type Pack } from 'tar-stream';
import { ExportError, InvalidArgumentError } from '../errors';
import type { ItemWithState } from '../store';
import { describeFsError } from '../output';
import { itemsOf } from './snapshot';
import type { ExportBatch, ExportContext, Exporter, ExportWriter } from './types';
import { writeChunks } from './write-chunks';

export const DEFAULT_SHARD_BYTES = 1_000_000_000;
export const DEFAULT_SHARD_SAMPLES = 100_000;
/** The class list beside the shards: line i is the class whose index `.cls` files hold. */
export const CLASSES_FILE = 'classes.txt';
/** The shard list with sample counts, for loaders that want the epoch size without reading the tars. */
export const SHARDS_FILE = 'shards.json';
/** Image files read ahead of the tar writer, so disk latency overlaps with writing. */
const READ_AHEAD = 8;
const TAR_BLOCK = 512;
/** Bytes gathered before each write to a shard file. */
const WRITE_BYTES = 1024 * 1024;

/** Files an export writes into its folder; `--force` replaces a folder holding only these. */
export function isWebDatasetFile(name: string): boolean {
  return name === CLASSES_FILE || name === SHARDS_FILE || /^[A-Za-z0-9._-]+-\d{6,}\.tar$/.test(name);
}

/** The name of shard `index`: `NAME-000000.tar`, the pattern WebDataset's brace expansion expects. */
export function shardFileName(name: string, index: number): string {
  return `${name}-${String(index).padStart(6, '0')}.tar`;
}

/**
 * A sample's key: the item id, zero-padded so that keys sort like ids. WebDataset splits a member name at
 * its first dot into key and extension, so a key must have no dot; ids never do (a uri or class name
 * could, and class names may hold `/` or `:`, so neither goes into a file name).
 */
export function sampleKey(id: number): string {
  return String(id).padStart(9, '0');
}

/** The extension of the image member: the file's own (a crop's is its crop format), lower-cased. */
function imageExtension(item: ItemWithState): string {
  const ext = path.posix.extname(item.uri).slice(1).toLowerCase();
  return /^[a-z0-9]+$/.test(ext) ? ext : item.format.toLowerCase();
}

/** Bytes a member takes in a tar: a header block, then the data padded to whole blocks. */
function tarBytes(size: number): number {
  return TAR_BLOCK + Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
}

/** The metadata member of a sample: every field of the item, in the same snake_case names as the Arrow columns. */
export function sampleMetadata(item: ItemWithState, classIndex: number | null): Record<string, unknown> {
  return {
    id: item.id,
    uri: item.uri,
    format: item.format,
    width: item.width,
    height: item.height,
    hash: item.hash,
    split: item.split,
    label: item.label,
    class_index: classIndex,
    label_source: item.labelSource,
    confidence: item.confidence,
    labeled_by: item.labeledBy,
    caption: item.caption,
    captions: item.captions.map((caption) => caption.text),
    tags: item.tags,
    source_uri: item.sourceUri,
    box: item.box,
    coco_image_id: item.cocoImageId,
    coco_annotation_id: item.cocoAnnotationId,
  };
}

interface ShardInfo {
  file: string;
  samples: number;
  bytes: number;
}

/** One open shard: a tar-stream pack whose bytes are pumped into the shard file as they come. */
class Shard {
  samples = 0;
  /** Tar bytes committed to this shard so far (headers and padding included). */
  size = 0;
  private readonly pack: Pack = tarPack();
  private readonly pumped: Promise<void>;
  private failure: unknown;

  private constructor(
    readonly file: string,
    private readonly handle: FileHandle,
    addBytes: (bytes: number) => void,
  ) {
    this.pumped = (async () => {
      // The pack yields a chunk per header, body and padding (a dozen per sample): gathered into writes of
      // about a MiB, or the export would be one system call per chunk.
      let chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of this.pack as AsyncIterable<Uint8Array>) {
        chunks.push(chunk);
        size += chunk.byteLength;
        if (size >= WRITE_BYTES) {
          const ready = chunks;
          chunks = [];
          size = 0;
          addBytes(await writeChunks(handle, ready));
        }
      }
      if (chunks.length > 0) addBytes(await writeChunks(handle, chunks));
    })();
    this.pumped.catch((error: unknown) => (this.failure = error));
  }

  static async open(file: string, addBytes: (bytes: number) => void): Promise<Shard> {
    return new Shard(file, await open(file, 'w'), addBytes);
  }

  /** Adds a member; resolves when the pack took it (it waits while the file is slower than the reads). */
  async add(name: string, data: Uint8Array, mtime: Date): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        this.pack.entry({ name, size: data.byteLength, mtime, mode: 0o644, type: 'file', uid: 0, gid: 0 }, data, (error) =>
          error ? reject(error) : resolve(),
        );
      }),
      this.pumped.then(() => {
        throw new Error('the tar stream ended early');
      }),
    ]);
    this.size += tarBytes(data.byteLength);
  }

  async finish(): Promise<ShardInfo> {
    this.pack.finalize();
    try {
      await this.pumped;
    } finally {
      await this.handle.close();
    }
    return { file: path.basename(this.file), samples: this.samples, bytes: this.size + 2 * TAR_BLOCK };
  }

  async destroy(): Promise<void> {
    this.pack.destroy();
    await this.pumped.catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }
}

class WebDatasetWriter implements ExportWriter {
  private shard: Shard | undefined;
  private readonly shards: ShardInfo[] = [];
  private readonly classIndex: Map<string, number>;
  private readonly classes: string[];
  /** One modification time for every member, so that exporting the same data twice gives the same bytes. */
  private readonly mtime = new Date(Math.floor(Date.now() / 1000) * 1000);

  private constructor(
    private readonly context: ExportContext,
    private readonly name: string,
    private readonly maxBytes: number,
    private readonly maxSamples: number,
  ) {
    this.classes = [...context.classes];
    this.classIndex = new Map(this.classes.map((name, index) => [name, index]));
  }

  static async open(context: ExportContext): Promise<WebDatasetWriter> {
    const { shardBytes = DEFAULT_SHARD_BYTES, shardSamples = DEFAULT_SHARD_SAMPLES } = context.options;
    if (!Number.isFinite(shardBytes) || shardBytes < 10 * TAR_BLOCK) {
      throw new InvalidArgumentError(`shardBytes must be at least ${10 * TAR_BLOCK} bytes; got ${String(shardBytes)}`);
    }
    if (!Number.isInteger(shardSamples) || shardSamples <= 0) {
      throw new InvalidArgumentError(`shardSamples must be a positive whole number; got ${String(shardSamples)}`);
    }
    const name = context.options.shardName ?? path.basename(context.finalPath).replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '');
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name)) {
      throw new InvalidArgumentError(
        `the shard name ${JSON.stringify(name)} must be letters, digits, '.', '_' or '-' (not starting with '.'); pass shardName (--shard-name)`,
      );
    }
    return new WebDatasetWriter(context, name, shardBytes, shardSamples);
  }

  async write(batch: ExportBatch): Promise<void> {
    const items = itemsOf(batch);
    // A tagged result rather than `instanceof Error`: errors from fs may come from another realm (jest, vm).
    const reads: Promise<{ data: Buffer } | { error: unknown }>[] = [];
    const read = (index: number) => {
      const item = items[index];
      if (item && reads[index] === undefined) {
        reads[index] = readFile(this.context.source.pathOf(item)).then(
          (data) => ({ data }),
          (error: unknown) => ({ error }),
        );
      }
    };
    for (let i = 0; i < Math.min(READ_AHEAD, items.length); i++) read(i);
    for (let i = 0; i < items.length; i++) {
      read(i + READ_AHEAD);
      const item = items[i]!;
      const image = await reads[i]!;
      delete reads[i];
      if ('error' in image) {
        this.context.skip({ id: item.id, uri: item.uri, reason: `cannot read ${this.context.source.pathOf(item)}: ${describeFsError(image.error)}` });
        continue;
      }
      if (this.context.signal?.aborted) throw new ExportError('the export was cancelled', { cause: this.context.signal.reason });
      await this.addSample(item, image.data);
    }
  }

  private async addSample(item: ItemWithState, image: Buffer): Promise<void> {
    const key = sampleKey(item.id);
    let index: number | null = null;
    if (item.label !== null) {
      index = this.classIndex.get(item.label) ?? null;
      if (index === null) {
        // A class created after the export began; the snapshot makes this rare, but keep .cls consistent.
        index = this.classes.push(item.label) - 1;
        this.classIndex.set(item.label, index);
      }
    }
    const members: [string, Uint8Array][] = [
      [`${key}.${imageExtension(item)}`, image],
      [`${key}.json`, Buffer.from(JSON.stringify(sampleMetadata(item, index)), 'utf8')],
    ];
    if (index !== null) members.push([`${key}.cls`, Buffer.from(String(index), 'ascii')]);
    if (item.caption !== null && item.caption !== '') members.push([`${key}.txt`, Buffer.from(item.caption, 'utf8')]);

    const sampleBytes = members.reduce((sum, [, data]) => sum + tarBytes(data.byteLength), 0);
    if (this.shard && (this.shard.samples >= this.maxSamples || (this.shard.samples > 0 && this.shard.size + sampleBytes > this.maxBytes - 2 * TAR_BLOCK))) {
      this.shards.push(await this.shard.finish());
      this.shard = undefined;
    }
    this.shard ??= await Shard.open(path.join(this.context.path, shardFileName(this.name, this.shards.length)), (bytes) => this.context.addBytes(bytes));
    for (const [name, data] of members) await this.shard.add(name, data, this.mtime);
    this.shard.samples++;
  }

  async close(): Promise<{ files: string[] }> {
    if (this.shard) this.shards.push(await this.shard.finish());
    this.shard = undefined;
    const classes = Buffer.from(this.classes.map((name) => `${name}\n`).join(''), 'utf8');
    const list = Buffer.from(
      `${JSON.stringify({ shards: this.shards, samples: this.shards.reduce((sum, shard) => sum + shard.samples, 0), classes: CLASSES_FILE }, null, 2)}\n`,
      'utf8',
    );
    try {
      await writeFile(path.join(this.context.path, CLASSES_FILE), classes);
      await writeFile(path.join(this.context.path, SHARDS_FILE), list);
    } catch (error) {
      throw new ExportError(`cannot write the class list beside the shards: ${describeFsError(error)}`, { cause: error });
    }
    this.context.addBytes(classes.byteLength + list.byteLength);
    return { files: [...this.shards.map((shard) => shard.file), CLASSES_FILE, SHARDS_FILE] };
  }

  async abort(): Promise<void> {
    await this.shard?.destroy();
    this.shard = undefined;
  }
}

/**
 * WebDataset: tar shards `NAME-000000.tar` of at most `shardBytes` / `shardSamples`, each sample `KEY.<ext>`
 * (the image file's bytes, as on disk), `KEY.json` (metadata, with every caption's text as `captions`), `KEY.cls` (class
 * index, when labeled) and `KEY.txt` (the caption a person sees — their own, else the first —, when there is
 * one: loaders that pair an image with one text read it); `classes.txt` and `shards.json` beside the shards.
 */
export const webDatasetExporter: Exporter = {
  format: 'webdataset',
  description: 'WebDataset tar shards with the images, metadata, class index and caption of each item',
  target: 'folder',
  embeddings: false,
  batchRows: 1024,
  open: (context) => WebDatasetWriter.open(context),
};
