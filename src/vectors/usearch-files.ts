import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, messageOf } from '../errors';
import { VectorIndexError } from './errors';
import { PointTable } from './point-table';
import type { VectorMetric } from './vector-index';

/**
 * The embedded index on disk. One folder, beside the store:
 *
 *   manifest.json             which generation is current, with shape, counts and the label/split dictionaries
 *   <generation>/index.usearch the HNSW graph and its vectors, as usearch saves it (reloaded with load(), no rebuild)
 *   <generation>/vectors.f32   the same vectors as one row-major matrix, for the exact scan
 *   <generation>/points.bin    ids (f64), label codes (i32), split codes (i32), labeled flags (u8), one per row
 *
 * A save writes a fresh generation folder and then swaps manifest.json by rename, so a crash mid-save leaves
 * the previous generation whole. The vectors are stored twice because usearch 2.25's JavaScript binding cannot
 * hand its vectors back; the exact scan needs them in JavaScript memory.
 */

export const MANIFEST_FILE = 'manifest.json';
const FORMAT = 'quicksort-vector-index';
const VERSION = 1;

export interface HnswParameters {
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
}

export interface Manifest {
  format: typeof FORMAT;
  version: number;
  dim: number;
  metric: VectorMetric;
  count: number;
  generation: string;
  hnsw: HnswParameters;
  labels: string[];
  splits: string[];
  savedAt: string;
}

/** The part of the native index the files need: usearch's own save/load. */
export interface NativeFiles {
  save(file: string): void;
  load(file: string): void;
  size(): number;
  dimensions(): number;
}

export function readManifest(dir: string): Manifest | null {
  const file = path.join(dir, MANIFEST_FILE);
  if (!existsSync(file)) return null;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch (error) {
    throw new VectorIndexError('usearch', `the vector index manifest ${file} is unreadable (${messageOf(error)}); delete ${dir} to rebuild the index from the store`, { cause: error });
  }
  if (manifest.format !== FORMAT || manifest.version !== VERSION) {
    throw new VectorIndexError(
      'usearch',
      `${file} is not a ${FORMAT} v${VERSION} manifest (format ${JSON.stringify(manifest.format)}, version ${JSON.stringify(manifest.version)}); delete ${dir} to rebuild the index from the store`,
    );
  }
  return manifest;
}

/** Refuses to open a saved index with a shape other than the one asked for: results would be silently wrong. */
export function checkManifestShape(manifest: Manifest, dir: string, dim: number, metric: VectorMetric): void {
  if (manifest.dim !== dim || manifest.metric !== metric) {
    throw new InvalidArgumentError(
      `the vector index in ${dir} holds ${manifest.dim}-d ${manifest.metric} vectors; this index was asked for ${dim}-d ${metric}. ` +
        `Open it with dim ${manifest.dim} and metric '${manifest.metric}', or point the index at another folder (or delete ${dir}) to rebuild from the store.`,
    );
  }
}

export function saveGeneration(dir: string, table: PointTable, native: NativeFiles, metric: VectorMetric, hnsw: HnswParameters): Manifest {
  mkdirSync(dir, { recursive: true });
  const generation = `g-${Date.now().toString(36)}-${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const folder = path.join(dir, generation);
  mkdirSync(folder);
  const n = table.size;
  try {
    native.save(path.join(folder, 'index.usearch'));
    writeArrays(path.join(folder, 'vectors.f32'), [table.matrix.subarray(0, n * table.dim)]);
    writeArrays(path.join(folder, 'points.bin'), [table.ids.subarray(0, n), table.labelCode.subarray(0, n), table.splitCode.subarray(0, n), table.labeled.subarray(0, n)]);
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw new VectorIndexError('usearch', `could not save the vector index to ${folder}: ${messageOf(error)}. Check free disk space and permissions.`, { cause: error });
  }
  const manifest: Manifest = {
    format: FORMAT,
    version: VERSION,
    dim: table.dim,
    metric,
    count: n,
    generation,
    hnsw,
    labels: table.labels.values,
    splits: table.splits.values,
    savedAt: new Date().toISOString(),
  };
  const temporary = path.join(dir, `${MANIFEST_FILE}.${generation}.tmp`);
  writeFileSync(temporary, JSON.stringify(manifest));
  renameSync(temporary, path.join(dir, MANIFEST_FILE));
  removeOtherGenerations(dir, generation);
  return manifest;
}

/** Reads the current generation into a table and the native index. */
export function loadGeneration(dir: string, manifest: Manifest, native: NativeFiles): PointTable {
  const folder = path.join(dir, manifest.generation);
  const n = manifest.count;
  const table = new PointTable(manifest.dim, n);
  const torn = (what: string, cause?: unknown) =>
    new VectorIndexError('usearch', `the vector index in ${folder} is incomplete or damaged (${what}); delete ${dir} to rebuild it from the store`, { cause });
  try {
    readArrays(path.join(folder, 'vectors.f32'), [table.matrix.subarray(0, n * manifest.dim)]);
    readArrays(path.join(folder, 'points.bin'), [table.ids.subarray(0, n), table.labelCode.subarray(0, n), table.splitCode.subarray(0, n), table.labeled.subarray(0, n)]);
  } catch (error) {
    throw error instanceof VectorIndexError ? error : torn(messageOf(error), error);
  }
  try {
    native.load(path.join(folder, 'index.usearch'));
  } catch (error) {
    throw torn(`usearch could not load index.usearch: ${messageOf(error)}`, error);
  }
  if (native.size() !== n || native.dimensions() !== manifest.dim) {
    throw torn(`index.usearch has ${native.size()} ${native.dimensions()}-d vectors, the manifest says ${n} ${manifest.dim}-d`);
  }
  table.size = n;
  for (const label of manifest.labels) table.labels.codeOf(label);
  for (const split of manifest.splits) table.splits.codeOf(split);
  table.reindex();
  return table;
}

function removeOtherGenerations(dir: string, keep: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name.startsWith('g-') && entry.name !== keep) {
      rmSync(path.join(dir, entry.name), { recursive: true, force: true });
    }
  }
}

type Column = Float64Array | Float32Array | Int32Array | Uint8Array;

/** One write per chunk: a single write call is capped near 2 GiB, and a 1M × 512 matrix is already 2 GiB. */
const CHUNK = 1 << 30;

function writeArrays(file: string, columns: Column[]): void {
  const fd = openSync(file, 'w');
  try {
    for (const column of columns) {
      const bytes = new Uint8Array(column.buffer, column.byteOffset, column.byteLength);
      for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, Math.min(CHUNK, bytes.length - offset));
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads straight into the columns' memory (no intermediate Buffer), after checking the file's size. */
function readArrays(file: string, columns: Column[]): void {
  const fd = openSync(file, 'r');
  try {
    const expected = columns.reduce((sum, column) => sum + column.byteLength, 0);
    const actual = fstatSync(fd).size;
    if (actual !== expected) {
      throw new VectorIndexError('usearch', `${file} has ${actual} bytes, expected ${expected}; delete ${path.dirname(path.dirname(file))} to rebuild the index from the store`);
    }
    for (const column of columns) {
      const bytes = new Uint8Array(column.buffer, column.byteOffset, column.byteLength);
      for (let offset = 0; offset < bytes.length; ) {
        const read = readSync(fd, bytes, offset, Math.min(CHUNK, bytes.length - offset), null);
        if (read === 0) throw new Error(`unexpected end of ${file}`);
        offset += read;
      }
    }
  } finally {
    closeSync(fd);
  }
}
