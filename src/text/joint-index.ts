import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { exactTopK, nativeTopK, dotAt } from '../vectors';

/** What a cached projection was made from: a cache that does not match is made again. */
export interface JointKey {
  /** The text model file's modification time and size. */
  modelMtimeMs: number;
  modelBytes: number;
  /** The image embedding model whose vectors were projected. */
  imageModel: string;
}

const MAGIC = 0x5153_4a31; // "QSJ1"

/**
 * The items' image embeddings projected into a text model's joint space (unit rows), searched exactly:
 * usearch's SIMD scan over every row, or a JavaScript scan over the rows a filter lets through (skipping
 * rows beats scanning them fast when few pass). Projecting is the expensive part at scale (items × image
 * dim × joint dim multiply-adds: seconds at 100k), so the projection is cached in a file beside the model.
 */
export class JointIndex {
  private rowOfId: Map<number, number> | undefined;

  constructor(
    readonly ids: readonly number[],
    readonly dim: number,
    /** ids.length × dim, unit rows; its own buffer from byte 0 (the native scan needs that). */
    readonly vectors: Float32Array,
  ) {}

  /** The row of each id (made on first use). */
  get rows(): Map<number, number> {
    return (this.rowOfId ??= new Map(this.ids.map((id, row) => [id, row])));
  }

  /** The `k` rows nearest to `query` (unit), best first; only `among` when given. */
  search(query: Float32Array, k: number, among?: Int32Array): { row: number; score: number }[] {
    const { dim, vectors } = this;
    if (among) {
      const top = exactTopK(vectors, dim, query, k, { rows: among });
      return Array.from(top.rows, (row, i) => ({ row, score: top.scores[i]! }));
    }
    const rows = nativeTopK(vectors, dim, query, k, this.ids.length);
    // Scores recomputed in JavaScript, as every other path reports them.
    return Array.from(rows, (row) => ({ row, score: dotAt(vectors, row * dim, query, dim) }));
  }

  /** The index cached in `file` when it was made from `key` and these ids, else undefined. */
  static read(file: string, key: JointKey, ids: readonly number[]): JointIndex | undefined {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch {
      return undefined;
    }
    if (bytes.length < 8 || bytes.readUInt32LE(0) !== MAGIC) return undefined;
    const headerBytes = bytes.readUInt32LE(4);
    let header: JointKey & { count: number; dim: number };
    try {
      header = JSON.parse(bytes.subarray(8, 8 + headerBytes).toString('utf8'));
    } catch {
      return undefined;
    }
    const sameKey = header.modelMtimeMs === key.modelMtimeMs && header.modelBytes === key.modelBytes && header.imageModel === key.imageModel;
    const start = align4(8 + headerBytes);
    if (!sameKey || header.count !== ids.length || bytes.length !== start + header.count * 4 * (1 + header.dim)) return undefined;
    const cachedIds = new Int32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + header.count * 4));
    for (let i = 0; i < ids.length; i++) if (cachedIds[i] !== ids[i]) return undefined;
    const from = bytes.byteOffset + start + header.count * 4;
    const vectors = new Float32Array(bytes.buffer.slice(from, from + header.count * header.dim * 4));
    return new JointIndex(ids, header.dim, vectors);
  }

  /** Writes the index to `file` (whole or not at all: a temporary file renamed over it). */
  write(file: string, key: JointKey): void {
    const header = Buffer.from(JSON.stringify({ ...key, count: this.ids.length, dim: this.dim }), 'utf8');
    const prefix = Buffer.alloc(align4(8 + header.length));
    prefix.writeUInt32LE(MAGIC, 0);
    prefix.writeUInt32LE(header.length, 4);
    header.copy(prefix, 8);
    const temporary = `${file}.${process.pid}.tmp`;
    const descriptor = openSync(temporary, 'w');
    try {
      writeSync(descriptor, prefix);
      writeSync(descriptor, new Uint8Array(Int32Array.from(this.ids).buffer));
      writeSync(descriptor, new Uint8Array(this.vectors.buffer, this.vectors.byteOffset, this.vectors.byteLength));
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    renameSync(temporary, file);
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
