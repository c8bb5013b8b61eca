import path from 'node:path';
import Database from 'better-sqlite3';
import { EmbeddingCache } from '../../src/embed';
import { StoreBusyError } from '../../src/errors';
import { tempDir } from '../helpers/fixtures';

describe('the embedding cache under another writer', () => {
  it('refuses a write with a retryable StoreBusyError naming the cache when another connection holds its lock past the timeout, and keeps what was written', () => {
    const temp = tempDir();
    const file = path.join(temp.dir, 'embeddings.db');
    const cache = EmbeddingCache.open(file);
    const { key } = cache.useModel('model@1', 'model', 2, 'float32');
    cache.write(key, 'float32', [{ itemId: 1, hash: 'a', vector: Float32Array.of(1, 0) }]);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      let refused: unknown;
      try {
        cache.write(key, 'float32', [{ itemId: 2, hash: 'b', vector: Float32Array.of(0, 1) }]);
      } catch (error) {
        refused = error;
      }
      expect(refused).toBeInstanceOf(StoreBusyError);
      expect((refused as Error).message).toMatch(new RegExp(`the embedding cache ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is busy with another writer.*retry`));
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(cache.reader(key)(1, 'a')).toBe('vector');
    expect(cache.reader(key)(2, 'b')).toBeUndefined();
    cache.close();
    temp.cleanup();
  });
});
