import type { ActionMessageType, ClientMessage, ServerMessage } from '../../../src/session/protocol';
import { asBytes, type AfmModel, type BufferLike } from '../afm/model';

/** A client message before the client numbers it. */
export type Request = ClientMessage extends infer M ? (M extends ClientMessage ? Omit<M, 'requestId'> : never) : never;

/** A server message with its buffers as bytes. */
export interface Incoming {
  message: ServerMessage;
  buffers: Uint8Array[];
}

export type ReplyHandler = (reply: Incoming) => void;

/** The link to the engine: a notebook's comm is always `connected`; the standalone page's socket may be lost. */
export type LinkState = 'connected' | 'reconnecting' | 'offline';

/** What the app's state needs of a connection: numbered requests, one reply each, and pushed messages. */
export interface SessionConnection {
  request(message: Request, onReply?: ReplyHandler): number;
  onPush(handler: (incoming: Incoming) => void): void;
  /**
   * Hears the link's state; `hello` is asked for after a reconnect, to be sent before every request that had
   * no answer is sent again (optional: a transport that never reconnects has none).
   */
  onLink?(handler: (state: LinkState) => void, hello: () => { message: Request; onReply: ReplyHandler }): void;
}

/** The messages that change the dataset: each gets an idempotency key, so that sending it again is safe. */
const ACTION_TYPES = new Set<string>([
  'label', 'accept', 'skip', 'dont_know', 'undo', 'redo', 'caption', 'tags', 'add_caption', 'remove_caption', 'edit_many', 'reject_vlm', 'accept_page', 'add_class',
] satisfies ActionMessageType[]);

/** Unique to this page load: with a counter, the idempotency keys of its actions. */
function newClientId(): string {
  const random = globalThis.crypto?.randomUUID?.();
  return random ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}

/** Replies name the request they answer; everything else is pushed (queue, classes, items, progress). */
const REPLY_TYPES = new Set<ServerMessage['type']>(['welcome', 'ack', 'refused', 'page', 'image', 'thumbnails', 'neighbors', 'stats', 'browse', 'search', 'caption_suggestions']);

/**
 * The session protocol over an AFM model: numbers requests, routes each reply to its handler synchronously
 * (so replies and pushed queues are handled in the order the engine sent them), and passes the rest on.
 *
 * Every action goes with an idempotency key (`${clientId}:${requestId}`), and every request is kept until its
 * reply: when the model's `connection` says it reconnected (the standalone page's socket, ../standalone), this
 * says hello again and sends every request that had no answer again, in order, with the same ids and keys —
 * the engine applies none twice (issue 17).
 */
export class SessionClient implements SessionConnection {
  private nextId = 1;
  private readonly clientId = newClientId();
  private readonly waiting = new Map<number, ReplyHandler>();
  /** Every request sent and not answered, in the order sent (a Map keeps insertion order). */
  private readonly unanswered = new Map<number, Record<string, unknown>>();
  private pushHandler: (incoming: Incoming) => void = () => undefined;
  private linkHandler: (state: LinkState) => void = () => undefined;
  private resumeHello: (() => { message: Request; onReply: ReplyHandler }) | undefined;
  private readonly listener = (content: unknown, buffers?: BufferLike[]) => this.receive(content, buffers);
  private readonly linkListener = (_model: unknown, connection: { state?: unknown; reconnected?: unknown } | undefined) => this.heardLink(connection);

  constructor(private readonly model: AfmModel) {
    model.on('msg:custom', this.listener);
    model.on('change:connection', this.linkListener);
  }

  request(message: Request, onReply?: ReplyHandler): number {
    const requestId = this.nextId++;
    if (onReply) this.waiting.set(requestId, onReply);
    const content: Record<string, unknown> = { ...message, requestId };
    if (ACTION_TYPES.has(message.type) && content.idempotencyKey === undefined) content.idempotencyKey = `${this.clientId}:${requestId}`;
    this.unanswered.set(requestId, content);
    this.model.send(content);
    return requestId;
  }

  onPush(handler: (incoming: Incoming) => void): void {
    this.pushHandler = handler;
  }

  onLink(handler: (state: LinkState) => void, hello: () => { message: Request; onReply: ReplyHandler }): void {
    this.linkHandler = handler;
    this.resumeHello = hello;
  }

  /** The model's link changed: pass the state on; once reconnected, hello first, then what had no answer. */
  private heardLink(connection: { state?: unknown; reconnected?: unknown } | undefined): void {
    const state = connection?.state;
    if (state !== 'connected' && state !== 'reconnecting' && state !== 'offline') return;
    if (state === 'connected' && connection?.reconnected === true) this.resend();
    this.linkHandler(state);
  }

  private resend(): void {
    // A hello that had no answer is replaced by the new one, which says where the page is now.
    for (const [requestId, content] of this.unanswered) {
      if (content.type === 'hello') {
        this.unanswered.delete(requestId);
        this.waiting.delete(requestId);
      }
    }
    const again = [...this.unanswered.values()];
    const hello = this.resumeHello?.();
    if (hello) this.request(hello.message, hello.onReply);
    for (const content of again) this.model.send(content);
  }

  /** Requests still waiting for their reply. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Requests sent and not answered, handler or not: those sent again after a reconnect. */
  get unansweredCount(): number {
    return this.unanswered.size;
  }

  private receive(content: unknown, buffers: BufferLike[] = []): void {
    if (!content || typeof content !== 'object' || typeof (content as { type?: unknown }).type !== 'string') return;
    const message = content as ServerMessage;
    const incoming = { message, buffers: buffers.map(asBytes) };
    const requestId = (message as { requestId?: unknown }).requestId;
    if (typeof requestId === 'number' && REPLY_TYPES.has(message.type)) this.unanswered.delete(requestId);
    if (typeof requestId === 'number' && REPLY_TYPES.has(message.type)) {
      const handler = this.waiting.get(requestId);
      if (handler) {
        this.waiting.delete(requestId);
        handler(incoming);
        return;
      }
      // A refusal of a message that could not even be parsed (requestId -1) is still worth showing.
      if (message.type !== 'refused') return;
    }
    this.pushHandler(incoming);
  }

  close(): void {
    this.model.off('msg:custom', this.listener);
    this.model.off('change:connection', this.linkListener);
    this.waiting.clear();
    this.unanswered.clear();
  }
}
