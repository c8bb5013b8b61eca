import { ProtocolError } from '../errors';
import type { ActionMessage, ActionMessageType, ClientMessage, ClientMessageType } from './protocol';

type FieldKind = 'idempotency-key?' | 'integer' | 'string' | 'string?' | 'integer?' | 'boolean?' | 'nullable-string' | 'string[]' | 'string[]?' | 'integer[]' | 'corrections?' | 'filter?' | 'search-filter?' | 'among?';

/** The fields of each client message, checked before anything acts on it. */
const SHAPES: Record<ClientMessageType, Record<string, FieldKind>> = {
  hello: { user: 'string?', prefetch: 'integer?', focus: 'integer?' },
  label: { itemId: 'integer', label: 'string', version: 'integer?' },
  accept: { itemId: 'integer', label: 'string?', version: 'integer?' },
  skip: { itemId: 'integer' },
  dont_know: { itemId: 'integer' },
  undo: {},
  redo: {},
  caption: { itemId: 'integer', caption: 'nullable-string' },
  tags: { itemId: 'integer', tags: 'string[]' },
  add_caption: { itemId: 'integer', caption: 'string', version: 'integer?' },
  remove_caption: { itemId: 'integer', caption: 'string', version: 'integer?' },
  search: { text: 'string', k: 'integer?', filter: 'search-filter?' },
  caption_suggestions: { itemId: 'integer', k: 'integer?' },
  reject_vlm: { itemId: 'integer', caption: 'string?' },
  edit_many: { itemIds: 'integer[]', addTags: 'string[]?', removeTags: 'string[]?', addCaption: 'string?' },
  page: { size: 'integer', label: 'string?' },
  accept_page: { label: 'string', itemIds: 'integer[]', corrections: 'corrections?' },
  set_ranker: { ranker: 'string' },
  add_class: { name: 'string', key: 'string?' },
  image: { itemId: 'integer', maxSize: 'integer?', context: 'boolean?' },
  thumbnails: { itemIds: 'integer[]', maxSize: 'integer?' },
  browse: { offset: 'integer', limit: 'integer', filter: 'filter?' },
  neighbors: { itemId: 'integer', k: 'integer?', among: 'among?' },
  stats: {},
};

/** The actions: each may carry an idempotency key (see protocol.ts). */
const ACTION_TYPES: ReadonlySet<ClientMessageType> = new Set<ActionMessageType>([
  'label', 'accept', 'skip', 'dont_know', 'undo', 'redo', 'caption', 'tags', 'add_caption', 'remove_caption', 'edit_many', 'reject_vlm', 'accept_page', 'add_class',
]);
for (const type of ACTION_TYPES) SHAPES[type].idempotencyKey = 'idempotency-key?';

/** Long enough for `${clientId}:${seq}` with a UUID, short enough that a key never weighs on the store. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;

/** Whether a message is an action (changes the dataset), which may carry an idempotency key. */
export function isActionMessage(message: ClientMessage): message is ActionMessage {
  return ACTION_TYPES.has(message.type);
}

const isInteger = (v: unknown) => Number.isSafeInteger(v);

function fits(kind: FieldKind, value: unknown): boolean {
  switch (kind) {
    case 'idempotency-key?':
      return value === undefined || (typeof value === 'string' && value.length >= 1 && value.length <= MAX_IDEMPOTENCY_KEY_LENGTH);
    case 'integer':
      return isInteger(value);
    case 'integer?':
      return value === undefined || isInteger(value);
    case 'boolean?':
      return value === undefined || typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'string?':
      return value === undefined || typeof value === 'string';
    case 'nullable-string':
      return value === null || typeof value === 'string';
    case 'string[]':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'string[]?':
      return value === undefined || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
    case 'integer[]':
      return Array.isArray(value) && value.every(isInteger);
    case 'filter?':
      return value === undefined || isFilter(value, FILTER_FIELDS);
    case 'search-filter?':
      return value === undefined || isFilter(value, SEARCH_FILTER_FIELDS);
    case 'among?':
      return value === undefined || value === 'labeled' || value === 'all';
    case 'corrections?':
      return (
        value === undefined ||
        (Array.isArray(value) && value.every((c) => c && typeof c === 'object' && isInteger(c.itemId) && typeof c.label === 'string'))
      );
  }
}

const FILTER_FIELDS: Record<string, (v: unknown) => boolean> = {
  label: (v) => v === null || typeof v === 'string',
  labeled: (v) => typeof v === 'boolean',
  tag: (v) => typeof v === 'string',
  hasCaption: (v) => typeof v === 'boolean',
  uri: (v) => typeof v === 'string',
};

const SEARCH_FILTER_FIELDS: Record<string, (v: unknown) => boolean> = {
  label: (v) => v === null || typeof v === 'string',
  tag: (v) => typeof v === 'string',
  unlabeled: (v) => typeof v === 'boolean',
  split: (v) => v === null || typeof v === 'string',
};

function isFilter(value: unknown, fields: Record<string, (v: unknown) => boolean>): boolean {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.entries(value).every(([field, v]) => v === undefined || (fields[field]?.(v) ?? false));
}

/** Checks an incoming message against the protocol; a ProtocolError says which field is wrong and why. */
export function parseClientMessage(raw: unknown): ClientMessage {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ProtocolError(`quicksort: a message must be a JSON object; got ${JSON.stringify(raw)?.slice(0, 80)}`);
  }
  const message = raw as Record<string, unknown>;
  const shape = SHAPES[message.type as ClientMessageType];
  if (typeof message.type !== 'string' || !shape) {
    throw new ProtocolError(`quicksort: unknown message type ${JSON.stringify(message.type)}; expected one of ${Object.keys(SHAPES).join(', ')}`);
  }
  if (!isInteger(message.requestId)) throw new ProtocolError(`quicksort: ${message.type}: requestId must be an integer`);
  for (const [field, kind] of Object.entries(shape)) {
    if (!fits(kind, message[field])) {
      const expected =
        kind === 'filter?' || kind === 'search-filter?'
          ? `an object with some of ${Object.keys(kind === 'filter?' ? FILTER_FIELDS : SEARCH_FILTER_FIELDS).join(', ')} (optional)`
          : kind === 'among?'
            ? '"labeled" or "all" (optional)'
            : kind === 'idempotency-key?'
              ? `a string of 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters, unique to the action (optional)`
            : kind.replace('?', ' (optional)');
      throw new ProtocolError(`quicksort: ${message.type}: field ${field} must be ${expected}; got ${JSON.stringify(message[field])?.slice(0, 80)}`);
    }
  }
  return message as unknown as ClientMessage;
}
