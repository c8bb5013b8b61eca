import { InvalidArgumentError, messageOf } from '../errors';
import type { BatchEmbeddings, EmbeddingInput, EmbeddingMatrix } from './types';

/** Resolves the `embeddings` option (a matrix or its loader) and checks its shape. */
export async function resolveEmbeddings(input: EmbeddingInput | undefined): Promise<EmbeddingMatrix | null> {
  if (input === undefined) return null;
  let matrix: EmbeddingMatrix;
  try {
    matrix = typeof input === 'function' ? await input() : input;
  } catch (error) {
    throw new InvalidArgumentError(`could not load the embeddings to export: ${messageOf(error)}`, {
      cause: error,
    });
  }
  if (!matrix || !Array.isArray(matrix.ids) || !isFloat32Array(matrix.vectors) || !Number.isInteger(matrix.dim) || matrix.dim <= 0) {
    throw new InvalidArgumentError('embeddings must be { ids: number[]; dim: number (> 0); vectors: Float32Array }');
  }
  if (matrix.vectors.length !== matrix.ids.length * matrix.dim) {
    throw new InvalidArgumentError(
      `embeddings hold ${matrix.vectors.length} floats, expected ids (${matrix.ids.length}) × dim (${matrix.dim}) = ${matrix.ids.length * matrix.dim}`,
    );
  }
  return matrix;
}

/**
 * Finds each item's row in the matrix. Items arrive in id order and the embedding engine writes ids
 * ascending, so a cursor walks both at once with no map of a million ids; a matrix in any other order gets
 * the map.
 */
export class EmbeddingJoin {
  private cursor = 0;
  private readonly rowOf: Map<number, number> | null;

  constructor(readonly matrix: EmbeddingMatrix) {
    const ids = matrix.ids;
    let ascending = true;
    for (let i = 1; i < ids.length && ascending; i++) ascending = ids[i]! > ids[i - 1]!;
    this.rowOf = ascending ? null : new Map(ids.map((id, row) => [id, row]));
  }

  /** The embedding rows of a batch of item ids (ascending); zero-copy when the rows are contiguous in the matrix. */
  rowsFor(ids: ArrayLike<number>): BatchEmbeddings {
    const { dim, vectors } = this.matrix;
    const n = ids.length;
    const rows = new Int32Array(n);
    let missing = 0;
    for (let i = 0; i < n; i++) {
      rows[i] = this.find(ids[i]!);
      if (rows[i]! < 0) missing++;
    }
    if (n > 0 && missing === 0 && rows[n - 1]! - rows[0]! === n - 1 && isRun(rows)) {
      return { dim, values: vectors.subarray(rows[0]! * dim, (rows[n - 1]! + 1) * dim), present: null };
    }
    const values = new Float32Array(n * dim);
    const present = missing > 0 ? new Uint8Array(n) : null;
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      if (row < 0) continue;
      values.set(vectors.subarray(row * dim, (row + 1) * dim), i * dim);
      if (present) present[i] = 1;
    }
    return { dim, values, present };
  }

  private find(id: number): number {
    if (this.rowOf) return this.rowOf.get(id) ?? -1;
    const ids = this.matrix.ids;
    while (this.cursor < ids.length && ids[this.cursor]! < id) this.cursor++;
    return this.cursor < ids.length && ids[this.cursor] === id ? this.cursor : -1;
  }
}

function isRun(rows: Int32Array): boolean {
  for (let i = 1; i < rows.length; i++) if (rows[i] !== rows[i - 1]! + 1) return false;
  return true;
}

/** Realm-safe (a notebook cell's Float32Array may come from another vm context, where instanceof fails). */
function isFloat32Array(value: unknown): value is Float32Array {
  return Object.prototype.toString.call(value) === '[object Float32Array]';
}
