import type { ItemView } from '../../../src/session/protocol';
import type { Connection } from './connection';

/** Only recent items matter: the strip shows the current item's and the next one's. */
const KEEP = 64;

/** The labeled items nearest to an item: the strip under the focus image, asked for once per item. */
export class Neighbors {
  private readonly nearest = new Map<number, ItemView[]>();
  private readonly asked = new Set<number>();

  constructor(
    private readonly connection: Connection,
    /** Neighbours are items too: their views go where every other view goes. */
    private readonly onViews: (views: readonly ItemView[]) => void,
  ) {}

  get all(): ReadonlyMap<number, readonly ItemView[]> {
    return this.nearest;
  }

  want(itemId: number): void {
    if (this.asked.has(itemId)) return;
    this.asked.add(itemId);
    this.connection.ask({ type: 'neighbors', itemId, k: 8 }, (message) => {
      if (message.type !== 'neighbors') return;
      this.onViews(message.items);
      this.nearest.set(itemId, message.items);
      if (this.nearest.size > KEEP) {
        const oldest = this.nearest.keys().next().value as number;
        this.nearest.delete(oldest);
        this.asked.delete(oldest);
      }
    });
  }
}
