import type { ClientMessage, ServerMessage } from '../../../src/session/protocol';
import { asBytes, type AfmModel, type BufferLike } from '../afm/model';

/** A client message before the client numbers it. */
export type Request = ClientMessage extends infer M ? (M extends ClientMessage ? Omit<M, 'requestId'> : never) : never;

/** A server message with its buffers as bytes. */
export interface Incoming {
  message: ServerMessage;
  buffers: Uint8Array[];
}

export type ReplyHandler = (reply: Incoming) => void;

/** What the app's state needs of a connection: numbered requests, one reply each, and pushed messages. */
export interface SessionConnection {
  request(message: Request, onReply?: ReplyHandler): number;
  onPush(handler: (incoming: Incoming) => void): void;
}

/** Replies name the request they answer; everything else is pushed (queue, classes, items, progress). */
const REPLY_TYPES = new Set<ServerMessage['type']>(['welcome', 'ack', 'refused', 'page', 'image', 'thumbnails', 'neighbors', 'stats', 'browse', 'search', 'caption_suggestions']);

/**
 * The session protocol over an AFM model: numbers requests, routes each reply to its handler synchronously
 * (so replies and pushed queues are handled in the order the engine sent them), and passes the rest on.
 */
export class SessionClient implements SessionConnection {
  private nextId = 1;
  private readonly waiting = new Map<number, ReplyHandler>();
  private pushHandler: (incoming: Incoming) => void = () => undefined;
  private readonly listener = (content: unknown, buffers?: BufferLike[]) => this.receive(content, buffers);

  constructor(private readonly model: AfmModel) {
    model.on('msg:custom', this.listener);
  }

  request(message: Request, onReply?: ReplyHandler): number {
    const requestId = this.nextId++;
    if (onReply) this.waiting.set(requestId, onReply);
    this.model.send({ ...message, requestId });
    return requestId;
  }

  onPush(handler: (incoming: Incoming) => void): void {
    this.pushHandler = handler;
  }

  /** Requests still waiting for their reply. */
  get pending(): number {
    return this.waiting.size;
  }

  private receive(content: unknown, buffers: BufferLike[] = []): void {
    if (!content || typeof content !== 'object' || typeof (content as { type?: unknown }).type !== 'string') return;
    const message = content as ServerMessage;
    const incoming = { message, buffers: buffers.map(asBytes) };
    const requestId = (message as { requestId?: unknown }).requestId;
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
    this.waiting.clear();
  }
}
