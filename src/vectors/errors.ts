import { QuickSortError } from '../errors';

export type VectorBackend = 'usearch' | 'qdrant';

/**
 * A vector index's backend failed: its files are missing or torn, the Qdrant server refused or could not be
 * reached, or the index was used after close. Caller mistakes (a wrong-sized vector, a bad filter, a config that
 * disagrees with what is on disk) are {@link InvalidArgumentError}s instead. Indexes are derived data, so the
 * usual remedy is to rebuild from the store.
 *
 * @example
 * try { await index.search(q, 10); } catch (e) { if (e instanceof VectorIndexError) console.log(e.backend, e.message); }
 */
export class VectorIndexError extends QuickSortError {
  constructor(
    readonly backend: VectorBackend,
    message: string,
    options?: { cause?: unknown },
  ) {
    // 'STORE': an index is the store's derived half; scripts branch on the same code for both.
    super('STORE', message, options);
  }
}
