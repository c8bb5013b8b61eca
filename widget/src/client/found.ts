import type { ItemView, SearchFilter } from '../../../src/session/protocol';
import type { Connection } from './connection';

/** What the grid's found items answer: a search in plain language, or "more like this" from one item. */
export type FoundQuery = { kind: 'text'; text: string; filter: SearchFilter | null } | { kind: 'similar'; itemId: number; name: string };

export interface Found {
  ids: number[];
  /** Cosine similarity per item: in the text model's joint space (text), or of the image embeddings (similar). */
  scores: Map<number, number>;
  views: ItemView[];
}

/** How many items a search or "more like this" brings: about five screens of the grid. */
export const FOUND_COUNT = 200;

/** Asks the engine for the items a query finds, best first; `answer` or `refused` hears the outcome. */
export function askFound(connection: Connection, query: FoundQuery, answer: (found: Found) => void, refused: (reason: string) => void): void {
  const request =
    query.kind === 'text'
      ? ({ type: 'search', text: query.text, k: FOUND_COUNT, ...(query.filter ? { filter: query.filter } : {}) } as const)
      : ({ type: 'neighbors', itemId: query.itemId, k: FOUND_COUNT, among: 'all' } as const);
  connection.ask(request, (message) => {
    if (message.type === 'search' || message.type === 'neighbors') {
      const scores = message.scores ?? [];
      answer({ ids: message.items.map((item) => item.id), scores: new Map(message.items.map((item, i) => [item.id, scores[i] ?? 0])), views: message.items });
    } else if (message.type === 'refused') {
      refused(message.reason);
    }
  });
}

/** The query as the grid's bar says it. */
export function describeFound(query: FoundQuery): string {
  if (query.kind === 'similar') return `like ${query.name}`;
  const words = [`“${query.text}”`];
  const filter = query.filter ?? {};
  if (filter.unlabeled) words.push('unlabeled');
  if (filter.label !== undefined) words.push(filter.label === null ? 'no label' : `label:${filter.label}`);
  if (filter.tag !== undefined) words.push(`tag:${filter.tag}`);
  if (filter.split !== undefined) words.push(filter.split === null ? 'no split' : `split:${filter.split}`);
  return words.join(' · ');
}
