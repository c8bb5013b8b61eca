import type { ItemWithState, StoreReader } from '../store';

/**
 * A session's copies of the items it holds (its queue, its page), as last read or written: views of them
 * need no read of the store, and changes made elsewhere come in through {@link update}.
 */
export class HeldItems {
  private readonly copies = new Map<number, ItemWithState>();

  constructor(private readonly store: StoreReader) {}

  /** Reads the items it has no copy of, in one query. */
  hold(ids: readonly number[]): void {
    const unread = ids.filter((id) => !this.copies.has(id));
    if (unread.length === 0) return;
    for (const item of this.store.items({ where: { ids: unread } })) this.copies.set(item.id, item);
  }

  /** Holds these items as given (read already). */
  set(items: readonly ItemWithState[]): void {
    for (const item of items) this.copies.set(item.id, item);
  }

  /** Takes the new state of those of these items it holds. */
  update(items: readonly ItemWithState[]): void {
    for (const item of items) if (this.copies.has(item.id)) this.copies.set(item.id, item);
  }

  /** Forgets every copy but those of `kept`. */
  keepOnly(kept: ReadonlySet<number>): void {
    for (const id of this.copies.keys()) if (!kept.has(id)) this.copies.delete(id);
  }

  /** An item as held, or as stored now when it is not held. */
  get(id: number): ItemWithState {
    return this.copies.get(id) ?? this.store.item(id);
  }

  /** An item as stored now; its copy, if held, updated. */
  reread(id: number): ItemWithState {
    const item = this.store.item(id);
    this.update([item]);
    return item;
  }

  clear(): void {
    this.copies.clear();
  }
}
