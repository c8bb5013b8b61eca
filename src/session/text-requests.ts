import type { ItemWithState } from '../store';
import type { ClientMessage, ServerMessage } from './protocol';
import { checkedCount, MAX_CAPTION_SUGGESTIONS, MAX_SEARCH_RESULTS, MAX_SIMILAR, searchWhere } from './search-requests';
import type { SessionHost } from './session-host';

type SearchRequest = Extract<ClientMessage, { type: 'search' | 'caption_suggestions' | 'neighbors' }>;

/** A reply, and the items it shows as read for it (the session holds them, so actions on them need no read). */
export interface TextAnswer {
  message: ServerMessage;
  items: ItemWithState[];
}

/**
 * Answers the requests that look for items or captions by meaning: a natural-language `search` (the space
 * of the tower in use, trained or the embedding model's own, with the filter in the same query), "more like this" (`neighbors` among all items,
 * image → image) and `caption_suggestions` (image → the dataset's captions).
 */
export async function answerTextRequest(host: SessionHost, message: SearchRequest): Promise<TextAnswer> {
  switch (message.type) {
    case 'search': {
      const k = checkedCount('search', message.k, 40, MAX_SEARCH_RESULTS);
      const search = await host.text.search();
      const hits = await search.search(message.text, { k, where: searchWhere(message.filter) });
      const items = readInOrder(host, hits.map((hit) => hit.id));
      const scoreOf = new Map(hits.map((hit) => [hit.id, hit.score]));
      return {
        message: { type: 'search', requestId: message.requestId, text: message.text, items: items.map((item) => host.view(item)), scores: items.map((item) => scoreOf.get(item.id)!), tower: search.tower.kind },
        items,
      };
    }
    case 'neighbors': {
      const k = checkedCount('neighbors', message.k, 12, MAX_SIMILAR);
      const hits = host.similar?.nearest(message.itemId, k) ?? [];
      const items = readInOrder(host, hits.map((hit) => hit.id));
      const scoreOf = new Map(hits.map((hit) => [hit.id, hit.score]));
      return {
        message: { type: 'neighbors', requestId: message.requestId, itemId: message.itemId, items: items.map((item) => host.view(item)), scores: items.map((item) => scoreOf.get(item.id)!) },
        items,
      };
    }
    case 'caption_suggestions': {
      const k = checkedCount('caption_suggestions', message.k, 5, MAX_CAPTION_SUGGESTIONS);
      const captions = await host.captionSuggester.suggest(await host.text.search(), message.itemId, k);
      return { message: { type: 'caption_suggestions', requestId: message.requestId, itemId: message.itemId, captions }, items: [] };
    }
  }
}

/** The items as stored now, in the order given (one query), without those deleted meanwhile. */
function readInOrder(host: SessionHost, ids: number[]): ItemWithState[] {
  if (ids.length === 0) return [];
  const byId = new Map(host.source.store.items({ where: { ids } }).map((item) => [item.id, item]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}
