import { MessageChannel } from 'node:worker_threads';
import { DatasetError, InvalidArgumentError } from '../errors';
import type { EmbeddingMatrix } from '../embed';
import { createPool } from '../workers';
import { layout2d, type LayoutOptions, type LayoutProgress } from './layout';
import type { LayoutTask } from './map-worker';

export interface ProjectOptions extends LayoutOptions {
  /** Lay out in a worker thread. Default: when the matrix has over 200k values (a few hundred 1280-d rows). */
  worker?: boolean;
  onProgress?: (progress: LayoutProgress) => void;
  /** Told about skipped rows (by default they are only counted in the result). */
  onWarning?: (message: string) => void;
}

export interface Projection {
  /** The item ids laid out, in the matrix's order less the skipped. */
  ids: number[];
  /** ids.length × 2, row-major. */
  xy: Float32Array;
  /** Items left out, with the reason (a vector with NaN or infinite values). */
  skipped: { id: number; reason: string }[];
}

const WORKER_FROM_VALUES = 200_000;

/**
 * Projects every row of an embedding matrix to 2-D (UMAP after PCA by default; see {@link layout2d}), in a
 * worker thread unless the matrix is tiny. Rows with NaN or infinite values are skipped with a warning naming
 * the items. Sample first for big datasets: the cost grows with rows × dim (PCA) and rows (UMAP).
 *
 * @throws DatasetError when fewer than 3 usable rows remain, or when every vector is the same.
 *
 * @example
 * const { ids, xy } = await projectEmbeddings(loadEmbeddings('photos/'), { seed: 1 });
 */
export async function projectEmbeddings(matrix: EmbeddingMatrix, options: ProjectOptions = {}): Promise<Projection> {
  const { dim } = matrix;
  if (matrix.vectors.length !== matrix.ids.length * dim) {
    throw new InvalidArgumentError(`embedding matrix has ${matrix.vectors.length} values, expected ids (${matrix.ids.length}) × dim (${dim})`);
  }
  const keep: number[] = [];
  const skipped: { id: number; reason: string }[] = [];
  for (let row = 0; row < matrix.ids.length; row++) {
    let finite = true;
    for (let j = row * dim; j < (row + 1) * dim; j++) {
      if (!Number.isFinite(matrix.vectors[j]!)) {
        finite = false;
        break;
      }
    }
    if (finite) keep.push(row);
    else skipped.push({ id: matrix.ids[row]!, reason: 'the vector holds NaN or infinite values' });
  }
  if (skipped.length) {
    const named = skipped.slice(0, 10).map((s) => s.id).join(', ');
    options.onWarning?.(
      `skipped ${skipped.length} item${skipped.length === 1 ? '' : 's'} whose vector holds NaN or infinite values ` +
        `(item ${named}${skipped.length > 10 ? ', …' : ''}); re-embed ${skipped.length === 1 ? 'it' : 'them'} (\`npx quicksort embed\`)`,
    );
  }
  if (keep.length < 3) {
    throw new DatasetError(`a map needs at least 3 items with usable embeddings; got ${keep.length}${skipped.length ? ` (${skipped.length} skipped)` : ''}`);
  }
  const rows = keep.length;
  const worker = options.worker ?? rows * dim > WORKER_FROM_VALUES;
  const vectors = new Float32Array(worker ? new SharedArrayBuffer(rows * dim * 4) : new ArrayBuffer(rows * dim * 4));
  keep.forEach((row, index) => vectors.set(matrix.vectors.subarray(row * dim, (row + 1) * dim), index * dim));
  if (allRowsEqual(vectors, rows, dim)) {
    throw new DatasetError(
      `all ${rows} vectors are identical, so there is nothing to map; a model that gives every image the same ` +
        'embedding usually has the wrong output tensor in its manifest',
    );
  }
  const layoutOptions: LayoutOptions = { method: options.method, seed: options.seed, pcaDimensions: options.pcaDimensions, neighbors: options.neighbors, epochs: options.epochs };
  const xy = worker ? await layoutInWorker({ vectors, rows, dim, options: layoutOptions }, options.onProgress) : layout2d(vectors, rows, dim, layoutOptions, options.onProgress);
  return { ids: keep.map((row) => matrix.ids[row]!), xy, skipped };
}

function allRowsEqual(vectors: Float32Array, rows: number, dim: number): boolean {
  for (let row = 1; row < rows; row++) {
    for (let j = 0; j < dim; j++) if (vectors[row * dim + j] !== vectors[j]) return false;
  }
  return true;
}

async function layoutInWorker(task: Omit<LayoutTask, 'port'>, onProgress?: (progress: LayoutProgress) => void): Promise<Float32Array> {
  const pool = createPool('map/map-worker', { threads: 1 });
  const channel = new MessageChannel();
  const ended = new Promise<void>((resolve) => {
    channel.port1.on('message', (message: LayoutProgress | { end: true }) => {
      if ('end' in message) resolve();
      else onProgress?.(message);
    });
  });
  try {
    const xy = (await pool.run({ ...task, port: channel.port2 }, { transferList: [channel.port2] })) as Float32Array;
    await ended;
    return xy;
  } finally {
    channel.port1.close();
    await pool.destroy();
  }
}
