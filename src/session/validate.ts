import { ProtocolError } from '../errors';
import type { ClientMessage, ClientMessageType } from './protocol';

type FieldKind = 'integer' | 'string' | 'string?' | 'integer?' | 'nullable-string' | 'string[]' | 'integer[]' | 'corrections?';

/** The fields of each client message, checked before anything acts on it. */
const SHAPES: Record<ClientMessageType, Record<string, FieldKind>> = {
  hello: { user: 'string?', prefetch: 'integer?' },
  label: { itemId: 'integer', label: 'string', version: 'integer?' },
  accept: { itemId: 'integer', version: 'integer?' },
  skip: { itemId: 'integer' },
  dont_know: { itemId: 'integer' },
  undo: {},
  redo: {},
  caption: { itemId: 'integer', caption: 'nullable-string' },
  tags: { itemId: 'integer', tags: 'string[]' },
  page: { size: 'integer', label: 'string?' },
  accept_page: { label: 'string', itemIds: 'integer[]', corrections: 'corrections?' },
  set_ranker: { ranker: 'string' },
  add_class: { name: 'string', key: 'string?' },
  image: { itemId: 'integer', maxSize: 'integer?' },
  neighbors: { itemId: 'integer', k: 'integer?' },
  stats: {},
};

const isInteger = (v: unknown) => Number.isSafeInteger(v);

function fits(kind: FieldKind, value: unknown): boolean {
  switch (kind) {
    case 'integer':
      return isInteger(value);
    case 'integer?':
      return value === undefined || isInteger(value);
    case 'string':
      return typeof value === 'string';
    case 'string?':
      return value === undefined || typeof value === 'string';
    case 'nullable-string':
      return value === null || typeof value === 'string';
    case 'string[]':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'integer[]':
      return Array.isArray(value) && value.every(isInteger);
    case 'corrections?':
      return (
        value === undefined ||
        (Array.isArray(value) && value.every((c) => c && typeof c === 'object' && isInteger(c.itemId) && typeof c.label === 'string'))
      );
  }
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
      throw new ProtocolError(`quicksort: ${message.type}: field ${field} must be ${kind.replace('?', ' (optional)')}; got ${JSON.stringify(message[field])?.slice(0, 80)}`);
    }
  }
  return message as unknown as ClientMessage;
}
