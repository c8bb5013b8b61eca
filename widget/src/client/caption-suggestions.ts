import type { Connection } from './connection';

export interface CaptionSuggestion {
  text: string;
  score: number;
}

/** Only recent items matter: the editor shows the current item's. */
const KEEP = 32;

/**
 * Captions to pick from while writing one: the dataset's captions nearest to the item's image in the text
 * model's joint space, asked for once per item (and again after the text model changed). A refusal (no text
 * model, no embedding) leaves the list empty: the editor works without it.
 */
export class CaptionSuggestions {
  private readonly byItem = new Map<number, readonly CaptionSuggestion[]>();
  private readonly asked = new Set<number>();

  constructor(private readonly connection: Connection) {}

  get all(): ReadonlyMap<number, readonly CaptionSuggestion[]> {
    return this.byItem;
  }

  want(itemId: number): void {
    if (this.asked.has(itemId)) return;
    this.asked.add(itemId);
    this.connection.ask({ type: 'caption_suggestions', itemId, k: 5 }, (message) => {
      if (message.type === 'caption_suggestions') this.byItem.set(itemId, message.captions);
      else if (message.type === 'refused') this.byItem.set(itemId, []);
      if (this.byItem.size > KEEP) {
        const oldest = this.byItem.keys().next().value as number;
        this.byItem.delete(oldest);
        this.asked.delete(oldest);
      }
    });
  }

  /** A new text model: suggestions come from its space now. */
  forget(): void {
    this.byItem.clear();
    this.asked.clear();
  }
}
