import { existsSync } from 'node:fs';
import { LabelStore, type ItemFilter, type ItemWithState } from '../store';
import type { EmbeddingJoin } from './embeddings';
import type { ExportBatch } from './types';

/**
 * A read-only view of the store as it was when the export began: its own SQLite connection in one read
 * transaction (WAL keeps that snapshot while others write), so the count, the class list and every row
 * agree with each other, and labeling in the same process goes on while the export streams (a statement
 * left open on the shared connection would make its writes fail as "busy").
 */
export class StoreSnapshot {
  private constructor(
    readonly store: LabelStore,
    private readonly owned: boolean,
  ) {}

  static open(store: LabelStore): StoreSnapshot {
    // An in-memory store (or one whose file cannot be reopened) is read through its own connection.
    if (!existsSync(store.file)) return new StoreSnapshot(store, false);
    let reader: LabelStore;
    try {
      reader = LabelStore.open(store.file, { readonly: true });
    } catch {
      return new StoreSnapshot(store, false);
    }
    reader.db.exec('BEGIN');
    return new StoreSnapshot(reader, true);
  }

  count(where: ItemFilter): number {
    return this.store.count(where);
  }

  classes(): string[] {
    return this.store.classes().map((c) => c.name);
  }

  /** Batches of `batchRows` items in id order, with their embedding rows when a join is given. */
  *batches(where: ItemFilter, batchRows: number, join: EmbeddingJoin | null): Generator<ExportBatch> {
    let items: ItemWithState[] = [];
    const emit = (): ExportBatch => {
      const batch = { items, embeddings: join ? join.rowsFor(items) : null };
      items = [];
      return batch;
    };
    for (const item of this.store.iterateItems(where)) {
      items.push(item);
      if (items.length >= batchRows) yield emit();
    }
    if (items.length > 0) yield emit();
  }

  close(): void {
    if (!this.owned) return;
    try {
      if (this.store.db.inTransaction) this.store.db.exec('COMMIT');
    } finally {
      this.store.close();
    }
  }
}
