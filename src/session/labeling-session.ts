import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { ConflictError, InvalidArgumentError, messageOf, NotFoundError, ProtocolError, QuickSortError } from '../errors';
import type { ItemWithState } from '../store';
import { PROTOCOL_VERSION, type ClientMessage, type Envelope, type ItemView, type ServerMessage } from './protocol';
import type { SessionHost } from './session-host';
import { parseClientMessage } from './validate';

export interface SessionOptions {
  user?: string;
  /** Items kept ready ahead of the current one, so a keypress never waits on the engine. */
  prefetch?: number;
}

type Send = (envelope: Envelope<ServerMessage>) => void;

const MAX_PREFETCH = 64;
const MAX_IMAGE_SIZE = 4096;

/**
 * One client's labeling session: its queue (current item first, then prefetched ones), its actions, its
 * undo history (the store's, per user) and its stats. Transport-agnostic: the kernel and the server feed it
 * parsed JSON with `handle` and deliver what it `send`s.
 *
 * @example
 * const session = new LabelingSession(host, (envelope) => socket.send(JSON.stringify(envelope.message)));
 * await session.handle({ type: 'hello', requestId: 1 });
 */
export class LabelingSession {
  private user: string;
  private prefetch: number;
  private queue: number[] = [];
  private readonly counts = { labels: 0, accepted: 0, startedAt: Date.now() };
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly host: SessionHost,
    private readonly send: Send,
    options: SessionOptions = {},
  ) {
    this.user = options.user ?? host.dataset.user;
    this.prefetch = options.prefetch ?? 8;
    this.unsubscribe = host.onBroadcast((envelope) => this.send(envelope));
  }

  /** Handles one message from the client; every failure becomes a `refused` reply, never an exception. */
  async handle(raw: unknown): Promise<void> {
    let requestId = typeof (raw as { requestId?: unknown })?.requestId === 'number' ? (raw as { requestId: number }).requestId : -1;
    try {
      const message = parseClientMessage(raw);
      requestId = message.requestId;
      await this.dispatch(message);
    } catch (error) {
      const code = error instanceof QuickSortError ? error.code.toLowerCase() : 'internal';
      const items = error instanceof ConflictError && typeof (raw as { itemId?: unknown }).itemId === 'number'
        ? this.views([(raw as { itemId: number }).itemId])
        : undefined;
      this.send({ message: { type: 'refused', requestId, code, reason: messageOf(error), ...(items ? { items } : {}) } });
    }
  }

  private async dispatch(message: ClientMessage): Promise<void> {
    const { store } = this.host.dataset;
    switch (message.type) {
      case 'hello': {
        if (message.user !== undefined) this.user = checkUser(message.user);
        if (message.prefetch !== undefined) this.prefetch = Math.max(1, Math.min(MAX_PREFETCH, message.prefetch));
        this.reply({
          type: 'welcome', requestId: message.requestId, protocol: PROTOCOL_VERSION, user: this.user, dataset: this.host.dataset.root,
          classes: this.host.classes(), ranker: this.host.rankerName, rankers: this.host.rankers(), stats: this.stats(),
        });
        this.refill();
        return;
      }
      case 'label':
      case 'accept': {
        const item = store.item(message.itemId);
        const shown = this.host.suggestionFor(item);
        const label = message.type === 'accept' ? shown?.label : message.label;
        if (!label) throw new InvalidArgumentError(`item ${message.itemId} has no suggestion to accept; choose a class`);
        if (message.version === undefined && item.labelSource === 'human' && item.labeledBy !== this.user) {
          throw new ConflictError(`item ${item.id} was already labeled ${JSON.stringify(item.label)} by ${item.labeledBy}; send its version to relabel it`);
        }
        const isNewClass = !this.host.dataset.classes().some((c) => c.name === label);
        store.act(message.itemId, { kind: 'label', label }, { user: this.user, ifVersion: message.version });
        this.counts.labels++;
        if (shown?.label === label) this.counts.accepted++;
        await this.done([message.itemId], message.requestId);
        if (isNewClass) this.host.broadcast({ type: 'classes', classes: this.host.classes() });
        return;
      }
      case 'skip':
      case 'dont_know': {
        store.act(message.itemId, { kind: message.type }, { user: this.user });
        await this.done([message.itemId], message.requestId);
        return;
      }
      case 'undo':
      case 'redo': {
        const events = message.type === 'undo' ? store.undo(this.user) : store.redo(this.user);
        const ids = [...new Set(events.map((event) => event.itemId).filter((id): id is number => id !== null))];
        this.host.sync(ids);
        if (message.type === 'undo') this.counts.labels = Math.max(0, this.counts.labels - events.filter((e) => e.kind === 'label').length);
        // What was undone comes back to the front, so the person can label it again at once.
        if (message.type === 'undo') {
          const back = ids.filter((id) => { const item = store.item(id); return item.labelSource !== 'human' && !item.skipped && !item.dontKnow && !item.deleted; });
          this.queue = [...back, ...this.queue.filter((id) => !back.includes(id))];
        } else {
          this.queue = this.queue.filter((id) => !ids.includes(id));
        }
        this.reply({ type: 'ack', requestId: message.requestId, items: this.views(ids) });
        this.host.broadcast({ type: 'items', items: this.views(ids) });
        this.refill();
        return;
      }
      case 'caption':
      case 'tags': {
        const action = message.type === 'caption' ? { kind: 'caption' as const, caption: message.caption } : { kind: 'tags' as const, tags: message.tags };
        store.act(message.itemId, action, { user: this.user });
        this.reply({ type: 'ack', requestId: message.requestId, items: this.views([message.itemId]) });
        return;
      }
      case 'page': {
        if (message.size < 1 || message.size > 500) throw new InvalidArgumentError(`a page holds 1 to 500 items; got ${message.size}`);
        const page = this.host.page(message.size, message.label);
        this.reply({ type: 'page', requestId: message.requestId, label: page.label, items: this.views(page.ids) });
        return;
      }
      case 'accept_page': {
        const corrections = new Map((message.corrections ?? []).map((c) => [c.itemId, c.label]));
        const entries = message.itemIds.map((id) => ({ itemId: id, action: { kind: 'label' as const, label: corrections.get(id) ?? message.label } }));
        store.actMany(entries, { user: this.user });
        this.counts.labels += entries.length;
        this.counts.accepted += entries.length - corrections.size;
        await this.done(message.itemIds, message.requestId);
        this.host.broadcast({ type: 'classes', classes: this.host.classes() });
        return;
      }
      case 'set_ranker': {
        this.host.setRanker(message.ranker);
        this.host.release(this.queue.slice(1));
        this.queue = this.queue.slice(0, 1);
        this.reply({ type: 'ack', requestId: message.requestId });
        this.refill();
        return;
      }
      case 'add_class': {
        this.host.dataset.addClass(message.name, message.key ?? null);
        this.reply({ type: 'ack', requestId: message.requestId });
        this.host.broadcast({ type: 'classes', classes: this.host.classes() });
        return;
      }
      case 'image':
        return this.sendImage(message.requestId, message.itemId, message.maxSize);
      case 'neighbors': {
        const learner = this.host.learner;
        const ids = learner?.has(message.itemId) ? learner.labeledNeighbors(message.itemId, Math.min(message.k ?? 6, 50)) : [];
        this.reply({ type: 'neighbors', requestId: message.requestId, itemId: message.itemId, items: this.views(ids) });
        return;
      }
      case 'stats':
        this.reply({ type: 'stats', requestId: message.requestId, stats: this.stats() });
        return;
    }
  }

  /**
   * After items were acted on: acknowledge at once and send the queue as it stands (its next item is already
   * on the client's screen, prefetched), then re-rank everything behind the current item and send the queue
   * again. The re-rank waits one turn of the event loop, so the acknowledgement leaves first.
   */
  private async done(ids: number[], requestId: number): Promise<void> {
    this.host.sync(ids);
    const finished = new Set(ids);
    this.queue = this.queue.filter((id) => !finished.has(id));
    this.reply({ type: 'ack', requestId, items: this.views(ids) });
    this.reply({ type: 'queue', items: this.views(this.queue), ranker: this.host.rankerName });
    await new Promise((resolve) => setImmediate(resolve));
    if (this.closed) return;
    const [current, ...rest] = this.queue;
    this.host.release(rest);
    this.queue = current === undefined ? [] : [current];
    this.refill();
  }

  private refill(): void {
    const missing = this.prefetch + 1 - this.queue.length;
    if (missing > 0) this.queue.push(...this.host.take(missing, new Set(this.queue)));
    this.reply({ type: 'queue', items: this.views(this.queue), ranker: this.host.rankerName });
  }

  private async sendImage(requestId: number, itemId: number, maxSize = 1024): Promise<void> {
    const item = this.host.dataset.store.item(itemId);
    const size = Math.max(16, Math.min(MAX_IMAGE_SIZE, maxSize));
    let bytes: Buffer;
    try {
      bytes = await readFile(this.host.dataset.pathOf(item));
    } catch (error) {
      throw new NotFoundError(`the image of item ${itemId} (${item.uri}) cannot be read: ${messageOf(error)}`);
    }
    let out: { data: Buffer; info: sharp.OutputInfo };
    try {
      out = await sharp(bytes).rotate().resize(size, size, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 85 }).toBuffer({ resolveWithObject: true });
    } catch (error) {
      throw new NotFoundError(`the image of item ${itemId} (${item.uri}) cannot be decoded: ${messageOf(error)}`);
    }
    this.send({
      message: { type: 'image', requestId, itemId, mime: 'image/jpeg', width: out.info.width, height: out.info.height },
      buffers: [new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength)],
    });
  }

  private views(ids: number[]): ItemView[] {
    const views: ItemView[] = [];
    for (const id of ids) {
      let item: ItemWithState;
      try {
        item = this.host.dataset.store.item(id);
      } catch {
        continue;
      }
      views.push(this.host.view(item));
    }
    return views;
  }

  private stats() {
    return this.host.stats(this.counts);
  }

  private reply(message: ServerMessage): void {
    if (!this.closed) this.send({ message });
  }

  /** The items this session holds (current first). */
  get queuedIds(): readonly number[] {
    return this.queue;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.release(this.queue);
    this.queue = [];
    this.unsubscribe();
  }
}

function checkUser(user: string): string {
  if (user.trim() === '' || user.length > 200) throw new ProtocolError(`quicksort: hello: user must be 1–200 characters; got ${JSON.stringify(user)}`);
  return user;
}
