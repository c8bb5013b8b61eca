import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors';
import type { AppliedActionKey, ItemWithState, Store } from '../store';
import type { ActionMessage } from './protocol';

/**
 * Actions sent with an idempotency key (issue 17): a page that lost its connection sends again what it heard
 * no answer to, and the engine must not apply any of it twice — also when the server was killed after the
 * commit and before the ack. The key is stored by the store in the same transaction as the action's events
 * ({@link Store.applyOnce}); a key seen before is answered from there, not applied.
 */
export class KeyedActions {
  constructor(private readonly store: Store) {}

  /**
   * The earlier application of this action, when its key was applied before; undefined for a new key or none.
   * The same key on another action is refused, naming the key: a client bug, and applying either could be wrong.
   */
  earlier(user: string, message: ActionMessage): AppliedActionKey | undefined {
    const key = message.idempotencyKey;
    if (key === undefined) return undefined;
    const found = this.store.actionKey(user, key);
    if (found && found.digest !== actionDigest(message)) {
      throw new InvalidArgumentError(
        `${message.type}: the idempotency key ${JSON.stringify(key)} was used before by ${JSON.stringify(user)} for another action; give every action a key of its own`,
      );
    }
    return found;
  }

  /** Runs the action's writes; with a key, the key is recorded in their transaction. */
  write<T>(user: string, message: ActionMessage, writes: () => T): T {
    const key = message.idempotencyKey;
    return key === undefined ? writes() : this.store.applyOnce(user, key, actionDigest(message), writes);
  }

  /**
   * The items an applied action concerned, as they are now: those its message names and those its events
   * touched (an undo names none), each once, in that order. Items gone since are left out.
   */
  itemsOf(message: ActionMessage, earlier: AppliedActionKey): ItemWithState[] {
    const ids: number[] = [];
    if ('itemId' in message) ids.push(message.itemId);
    if ('itemIds' in message) ids.push(...message.itemIds);
    if (earlier.firstSeq !== null && earlier.lastSeq !== null) {
      const events = this.store.events({ sinceSeq: earlier.firstSeq - 1, limit: earlier.lastSeq - earlier.firstSeq + 1 });
      for (const event of events) if (event.itemId !== null) ids.push(event.itemId);
    }
    const items: ItemWithState[] = [];
    for (const id of new Set(ids)) {
      try {
        items.push(this.store.item(id));
      } catch {
        // deleted from the store since: nothing to show
      }
    }
    return items;
  }
}

/**
 * What an action does, without its request id and key: a resend repeats it exactly, another action differs.
 * Fields in sorted order, so the digest does not depend on how a client built its object.
 */
export function actionDigest(message: ActionMessage): string {
  const { requestId: _requestId, idempotencyKey: _key, ...content } = message;
  return createHash('sha256').update(canonicalJson(content)).digest('base64url');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
