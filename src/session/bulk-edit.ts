import { InvalidArgumentError, NotFoundError } from '../errors';
import type { ActionEntry, ItemAction, ItemWithState } from '../store';
import type { ClientMessage } from './protocol';

export const MAX_BULK_ITEMS = 500;

type EditMany = Extract<ClientMessage, { type: 'edit_many' }>;

/**
 * The store actions of an `edit_many` (its items read with `read`): per item, its tags with `addTags` added and `removeTags` taken away
 * (only where that changes them), and `addCaption` beside its captions. One batch, so one undo takes every
 * item back; items it would not change are left out, and a request that changes nothing is refused.
 */
export function bulkEditActions(message: EditMany, read: (ids: number[]) => readonly ItemWithState[], user: string): ActionEntry[] {
  // Checked before the read: a request naming a million ids must not cost a million-row query first.
  if (message.itemIds.length === 0 || message.itemIds.length > MAX_BULK_ITEMS) {
    throw new InvalidArgumentError(`edit_many: itemIds must hold 1 to ${MAX_BULK_ITEMS} items; got ${message.itemIds.length}`);
  }
  const items = read(message.itemIds);
  const found = new Set(items.map((item) => item.id));
  const missing = message.itemIds.filter((id) => !found.has(id));
  if (missing.length > 0) throw new NotFoundError(`edit_many: no item ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` (and ${missing.length - 5} more)` : ''} in the dataset`);
  const add = clean(message.addTags);
  const remove = new Set(clean(message.removeTags));
  const caption = message.addCaption?.trim() ?? '';
  if (add.length === 0 && remove.size === 0 && caption === '') {
    throw new InvalidArgumentError('edit_many: nothing to do; give addTags, removeTags or addCaption (not empty)');
  }
  const entries: ActionEntry[] = [];
  for (const item of items) {
    const tags = [...new Set([...item.tags.filter((tag) => !remove.has(tag)), ...add])];
    if (tags.length !== item.tags.length || tags.some((tag, i) => tag !== item.tags[i])) entries.push({ itemId: item.id, action: { kind: 'tags', tags } });
    if (caption !== '' && !item.captions.some((c) => c.text.trim() === caption && c.source === 'human' && c.author === user)) {
      entries.push({ itemId: item.id, action: { kind: 'add_caption', caption, source: 'human', author: user } });
    }
  }
  return entries;
}

function clean(tags: string[] | undefined): string[] {
  return (tags ?? []).map((tag) => tag.trim()).filter(Boolean);
}

/**
 * The store action of a `reject_vlm`: the item's VLM label taken away (a person's `unlabel`), or, with a
 * caption, that VLM caption draft. Refused, naming why, when the item has no such suggestion.
 */
export function vlmRejection(message: Extract<ClientMessage, { type: 'reject_vlm' }>, item: ItemWithState): ItemAction {
  if (message.caption !== undefined) {
    if (!item.captions.some((c) => c.source === 'vlm' && c.text === message.caption)) {
      throw new InvalidArgumentError(`reject_vlm: item ${item.id} has no VLM caption draft ${JSON.stringify(message.caption.slice(0, 80))}`);
    }
    return { kind: 'remove_caption', caption: message.caption, source: 'vlm' };
  }
  if (item.labelSource !== 'vlm') {
    throw new InvalidArgumentError(`reject_vlm: item ${item.id} has no VLM label to turn down (its label is ${item.label === null ? 'none' : `${JSON.stringify(item.label)}, from ${item.labelSource}`})`);
  }
  return { kind: 'unlabel' };
}
