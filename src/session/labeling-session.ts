import { readLink } from '../coco';
import { ConflictError, InvalidArgumentError, messageOf, ProtocolError, QuickSortError, StoreBusyError } from '../errors';
import { isUserName, type ItemAction, type ItemFilter, type ItemWithState, type StoredEvent } from '../store';
import { PROTOCOL_VERSION, type ActionMessage, type BrowseFilter, type ClientMessage, type Envelope, type ItemView, type ServerMessage, type ThumbnailView } from './protocol';
import { bulkEditActions, vlmRejection } from './bulk-edit';
import { HeldItems } from './held-items';
import { KeyedActions } from './keyed-actions';
import { DISK_THUMBNAIL_MAX } from './thumbnail-cache';
import type { SessionHost } from './session-host';
import { answerTextRequest } from './text-requests';
import { isActionMessage, parseClientMessage } from './validate';

export interface SessionOptions {
  user?: string;
  /** Items kept ready ahead of the current one, so a keypress never waits on the engine. */
  prefetch?: number;
}

type Send = (envelope: Envelope<ServerMessage>) => void;

const MAX_PREFETCH = 64;
const MAX_IMAGE_SIZE = 4096;
const MAX_BROWSE = 1000;
const MAX_THUMBNAILS = 64;

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
  /** The grid page this session holds: released when the next page is asked for, or on close. */
  private pageIds: number[] = [];
  /** The items of the last search or "more like this" answer: held like a page, but not handed out to this client. */
  private foundIds: number[] = [];
  private readonly counts = { labels: 0, accepted: 0, startedAt: Date.now() };
  /**
   * The items of the queue and the page as last read or written: a label reads only the item handed out in
   * its place, and changes elsewhere come in with the host's broadcasts.
   */
  private readonly held: HeldItems;
  /** Actions with idempotency keys: one applied before is answered again, never applied twice. */
  private readonly keys: KeyedActions;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly host: SessionHost,
    private readonly send: Send,
    options: SessionOptions = {},
  ) {
    this.user = options.user ?? host.source.user;
    this.held = new HeldItems(host.source.store);
    this.keys = new KeyedActions(host.source.store);
    this.prefetch = options.prefetch ?? 8;
    this.unsubscribe = host.onBroadcast((envelope, changed) => {
      this.send(envelope);
      if (changed) this.changedElsewhere(changed);
    });
  }

  /**
   * Handles one message from the client; every failure becomes a `refused` reply, never an exception. A store
   * busy with another process's write is refused `busy` and `retryable`: nothing was saved, the same request
   * may succeed when sent again.
   */
  async handle(raw: unknown): Promise<void> {
    let requestId = typeof (raw as { requestId?: unknown })?.requestId === 'number' ? (raw as { requestId: number }).requestId : -1;
    try {
      const message = parseClientMessage(raw);
      requestId = message.requestId;
      await this.dispatch(message);
    } catch (error) {
      const code = error instanceof QuickSortError ? error.code.toLowerCase() : 'internal';
      const itemId = (raw as { itemId?: unknown }).itemId;
      const items = error instanceof ConflictError && typeof itemId === 'number' ? this.freshViews([itemId]) : undefined;
      const retryable = error instanceof StoreBusyError;
      this.send({ message: { type: 'refused', requestId, code, reason: messageOf(error), ...(retryable ? { retryable } : {}), ...(items ? { items } : {}) } });
    }
  }

  private async dispatch(message: ClientMessage): Promise<void> {
    const { store } = this.host.source;
    if (isActionMessage(message)) {
      const earlier = this.keys.earlier(this.user, message);
      if (earlier) return this.answerAgain(message, this.keys.itemsOf(message, earlier));
    }
    switch (message.type) {
      case 'hello': {
        if (message.user !== undefined) this.user = checkUser(message.user);
        if (message.prefetch !== undefined) this.prefetch = Math.max(1, Math.min(MAX_PREFETCH, message.prefetch));
        if (message.focus !== undefined) this.resume(message.focus);
        this.reply({
          type: 'welcome', requestId: message.requestId, protocol: PROTOCOL_VERSION, user: this.user, dataset: this.host.source.root,
          classes: this.host.classes(), ranker: this.host.rankerName, rankers: this.host.rankers(), stats: this.stats(), textModel: this.host.text.state, vlm: this.host.vlm.state,
        });
        this.refill();
        return;
      }
      case 'label':
      case 'accept':
        return this.label(message);
      case 'skip':
      case 'dont_know': {
        await this.done(this.keys.write(this.user, message, () => store.actAndRead([{ itemId: message.itemId, action: { kind: message.type } }], { user: this.user })), message.requestId);
        return;
      }
      case 'undo':
      case 'redo': {
        const events = this.keys.write(this.user, message, () => (message.type === 'undo' ? store.undo(this.user) : store.redo(this.user)));
        const ids = [...new Set(events.map((event) => event.itemId).filter((id): id is number => id !== null))];
        const items = ids.map((id) => store.item(id));
        this.host.wrote(events, items, message.type);
        if (message.type === 'undo') this.counts.labels = Math.max(0, this.counts.labels - events.filter((e) => e.kind === 'label').length);
        // What was undone comes back to the front, so the person can label it again at once.
        if (message.type === 'undo') {
          const back = items.filter((item) => !isSettled(item));
          this.held.set(back);
          this.queue = [...back.map((item) => item.id), ...this.queue.filter((id) => !ids.includes(id))];
        } else {
          this.queue = this.queue.filter((id) => !ids.includes(id));
        }
        const views = items.map((item) => this.host.view(item));
        this.reply({ type: 'ack', requestId: message.requestId, items: views });
        this.host.broadcast({ type: 'items', items: views }, items);
        this.refill();
        return;
      }
      case 'caption':
      case 'tags':
      case 'add_caption':
      case 'remove_caption': {
        const { events, items } = this.keys.write(this.user, message, () =>
          store.actAndRead([{ itemId: message.itemId, action: describeAction(message, this.user) }], {
            user: this.user,
            ...('version' in message && message.version !== undefined ? { ifVersion: message.version } : {}),
          }),
        );
        this.held.update(items);
        this.reply({ type: 'ack', requestId: message.requestId, items: items.map((item) => this.host.view(item)) });
        this.host.wrote(events, items);
        return;
      }
      case 'reject_vlm': {
        const action = vlmRejection(message, store.item(message.itemId));
        const { events, items } = this.keys.write(this.user, message, () => store.actAndRead([{ itemId: message.itemId, action }], { user: this.user }));
        if (message.caption === undefined) this.host.vlm.reject(message.itemId);
        this.held.update(items);
        this.reply({ type: 'ack', requestId: message.requestId, items: items.map((item) => this.host.view(item)) });
        this.host.wrote(events, items);
        return;
      }
      case 'edit_many': {
        let items: ItemWithState[] = [];
        const entries = bulkEditActions(message, (ids) => (items = store.items({ where: { ids } })), this.user);
        const written = entries.length > 0 ? this.keys.write(this.user, message, () => store.actAndRead(entries, { user: this.user })) : { events: [], items };
        this.held.update(written.items);
        this.reply({ type: 'ack', requestId: message.requestId, items: written.items.map((item) => this.host.view(item)) });
        if (entries.length > 0) this.host.wrote(written.events, written.items);
        return;
      }
      case 'page': {
        if (message.size < 1 || message.size > 500) throw new InvalidArgumentError(`a page holds 1 to 500 items; got ${message.size}`);
        // The page may take what this client holds ahead in its focus queue (the grid replaces that look
        // ahead); the current item stays. The previous page goes back unless it was labeled.
        const [current, ...ahead] = this.queue;
        this.host.release([...ahead, ...this.pageIds.filter((id) => id !== current)]);
        this.queue = current === undefined ? [] : [current];
        const page = this.host.page(message.size, message.label);
        this.pageIds = page.ids;
        this.held.hold(page.ids);
        this.reply({ type: 'page', requestId: message.requestId, label: page.label, items: this.views(page.ids) });
        this.refill();
        return;
      }
      case 'accept_page': {
        const corrections = new Map((message.corrections ?? []).map((c) => [c.itemId, c.label]));
        const entries = message.itemIds.map((id) => ({ itemId: id, action: { kind: 'label' as const, label: corrections.get(id) ?? message.label } }));
        const written = this.keys.write(this.user, message, () => store.actAndRead(entries, { user: this.user }));
        this.counts.labels += entries.length;
        this.counts.accepted += entries.length - corrections.size;
        await this.done(written, message.requestId);
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
        this.keys.write(this.user, message, () => this.host.addClass(message.name, message.key ?? null));
        this.reply({ type: 'ack', requestId: message.requestId });
        this.host.broadcast({ type: 'classes', classes: this.host.classes() });
        return;
      }
      case 'image':
        return this.sendImage(message.requestId, message.itemId, message.maxSize, message.context ?? false);
      case 'thumbnails':
        return this.sendThumbnails(message.requestId, message.itemIds, message.maxSize ?? 128);
      case 'browse': {
        if (message.offset < 0) throw new InvalidArgumentError(`browse: offset must be ≥ 0; got ${message.offset}`);
        if (message.limit < 1 || message.limit > MAX_BROWSE) throw new InvalidArgumentError(`browse: limit must be 1 to ${MAX_BROWSE}; got ${message.limit}`);
        const where = browseWhere(message.filter);
        const items = store.items({ where, offset: message.offset, limit: message.limit });
        this.reply({ type: 'browse', requestId: message.requestId, offset: message.offset, total: store.count(where), items: items.map((item) => this.host.view(item)) });
        return;
      }
      case 'search':
      case 'caption_suggestions':
        return this.answerByMeaning(message);
      case 'neighbors': {
        if (message.among === 'all') return this.answerByMeaning(message);
        // Asked before the learner has learned the stored labels (a large dataset's start), the answer waits
        // for it: an empty strip would be taken as "none labeled yet" and not asked again.
        await this.host.ready;
        const learner = this.host.learner;
        const ids = learner?.has(message.itemId) ? learner.labeledNeighbors(message.itemId, Math.min(message.k ?? 6, 50)) : [];
        this.reply({ type: 'neighbors', requestId: message.requestId, itemId: message.itemId, items: this.views(ids) });
        return;
      }
      case 'stats':
        this.reply({ type: 'stats', requestId: message.requestId, stats: this.stats() });
        // The class counts move with every label; clients polling stats get them too, without a broadcast per label.
        this.reply({ type: 'classes', classes: this.host.classes() });
        return;
    }
  }

  /**
   * An action whose idempotency key was applied before (a page sending again what it heard no answer to,
   * after a reconnect): acknowledged as the first time, with the items as they are now, and nothing applied.
   * Those now settled leave this session's queue, as after the first time.
   */
  private answerAgain(message: ActionMessage, items: ItemWithState[]): void {
    this.held.update(items);
    const settled = new Set(items.filter(isSettled).map((item) => item.id));
    const queued = this.queue.length;
    this.queue = this.queue.filter((id) => !settled.has(id));
    this.reply({ type: 'ack', requestId: message.requestId, ...(message.type === 'add_class' ? {} : { items: items.map((item) => this.host.view(item)) }) });
    if (this.queue.length !== queued) this.refill();
  }

  /** A search or "more like this": its items are held like a page's, so labels, tags and captions on them read nothing. */
  private async answerByMeaning(message: Extract<ClientMessage, { type: 'search' | 'caption_suggestions' | 'neighbors' }>): Promise<void> {
    const answer = await answerTextRequest(this.host, message);
    if (this.closed) return;
    if (answer.items.length > 0 || message.type === 'search') {
      this.held.set(answer.items);
      this.foundIds = answer.items.map((item) => item.id);
    }
    this.reply(answer.message);
  }

  /**
   * A label, or an accept of the suggestion shown. A client that sends no version labels the item as this
   * session holds it: when it was written elsewhere since (the follower had not told yet), the label is
   * tried once more on the item as stored now, as if that were what the client had.
   */
  private async label(message: Extract<ClientMessage, { type: 'label' | 'accept' }>, fresh = false): Promise<void> {
    const item = fresh ? this.held.reread(message.itemId) : this.held.get(message.itemId);
    const shown = this.host.suggestionFor(item);
    // An accept says which class was on the person's screen: that is what they agreed to, even when the
    // head has changed its mind since the view was sent.
    const label = message.type === 'accept' ? (message.label ?? shown?.label) : message.label;
    if (!label) throw new InvalidArgumentError(`item ${message.itemId} has no suggestion to accept; choose a class`);
    if (message.version === undefined && item.labelSource === 'human' && item.labeledBy !== this.user) {
      throw new ConflictError(`item ${item.id} was already labeled ${JSON.stringify(item.label)} by ${item.labeledBy}; send its version to relabel it`);
    }
    const isNewClass = !this.host.knowsClass(label);
    let written: { events: StoredEvent[]; items: ItemWithState[] };
    try {
      written = this.keys.write(this.user, message, () =>
        this.host.source.store.actAndRead([{ itemId: item.id, action: { kind: 'label', label } }], { user: this.user, ifVersion: message.version ?? item.version }),
      );
    } catch (error) {
      if (error instanceof ConflictError && message.version === undefined && !fresh) return this.label(message, true);
      throw error;
    }
    this.counts.labels++;
    if (message.type === 'accept' || shown?.label === label) this.counts.accepted++;
    await this.done(written, message.requestId);
    if (isNewClass) this.host.broadcast({ type: 'classes', classes: this.host.classes() });
  }

  /**
   * After items were acted on: acknowledge at once and send the queue as it stands (its next item is already
   * on the client's screen, prefetched), then let the head learn the labels, re-rank everything behind the
   * current item and send the queue again, with fresh suggestions. The head update comes after the first
   * queue, so the next item never waits on it; the re-rank waits one turn of the event loop.
   */
  private async done({ events, items }: { events: StoredEvent[]; items: ItemWithState[] }, requestId: number): Promise<void> {
    const finished = new Set(items.map((item) => item.id));
    this.queue = this.queue.filter((id) => !finished.has(id));
    this.reply({ type: 'ack', requestId, items: items.map((item) => this.host.view(item)) });
    this.reply({ type: 'queue', items: this.views(this.queue), ranker: this.host.rankerName });
    this.host.wrote(events, items);
    await new Promise((resolve) => setImmediate(resolve));
    if (this.closed) return;
    const [current, ...rest] = this.queue;
    this.host.release(rest);
    this.queue = current === undefined ? [] : [current];
    this.refill();
  }

  private refill(): void {
    const missing = this.prefetch + 1 - this.queue.length;
    if (missing > 0) {
      const queued = new Set(this.queue);
      // The learner may hand back an item this session already holds (a resumed focus item): keep it once.
      const taken = this.host.take(missing, queued).filter((id) => !queued.has(id));
      this.held.hold(taken);
      this.queue.push(...taken);
    }
    // Copies of released items are kept until here: the host mostly hands the same ones back, re-ranked.
    this.held.keepOnly(new Set([...this.queue, ...this.pageIds, ...this.foundIds]));
    this.reply({ type: 'queue', items: this.views(this.queue), ranker: this.host.rankerName });
  }

  /** Puts an item first again (a reloaded page resumes where it was), if it is still to be labeled. */
  private resume(itemId: number): void {
    let item: ItemWithState;
    try {
      item = this.host.source.store.item(itemId);
    } catch {
      return; // gone since: start from the ranker's pick
    }
    if (isSettled(item)) return;
    this.held.set([item]);
    this.queue = [itemId, ...this.queue.filter((id) => id !== itemId)];
  }

  /**
   * Items changed elsewhere (another process, another user): this session's copies take their new state,
   * and those in its queue that are settled now leave it.
   */
  private changedElsewhere(items: readonly ItemWithState[]): void {
    this.held.update(items);
    const queued = new Set(this.queue);
    const settled = items.filter((item) => queued.has(item.id) && isSettled(item)).map((item) => item.id);
    if (settled.length === 0) return;
    this.queue = this.queue.filter((id) => !settled.includes(id));
    this.host.release(settled);
    this.refill();
  }

  private async sendImage(requestId: number, itemId: number, maxSize = 1024, context = false): Promise<void> {
    const item = this.held.get(itemId);
    const size = Math.max(16, Math.min(MAX_IMAGE_SIZE, maxSize));
    const image = context ? await this.host.images.context(item, size, readLink(this.host.source.store)?.imagesDir) : await this.host.images.image(item, size);
    this.send({
      message: {
        type: 'image', requestId, itemId, mime: image.mime, width: image.width, height: image.height,
        ...(image.contextBox ? { context: { box: image.contextBox } } : {}),
      },
      buffers: [image.bytes],
    });
  }

  /** Many small images in one reply (base64 in the JSON): a missing one carries its reason, the rest still come. */
  private async sendThumbnails(requestId: number, itemIds: number[], maxSize: number): Promise<void> {
    if (itemIds.length < 1 || itemIds.length > MAX_THUMBNAILS) throw new InvalidArgumentError(`thumbnails: ask for 1 to ${MAX_THUMBNAILS} items at once; got ${itemIds.length}`);
    if (maxSize < 16 || maxSize > DISK_THUMBNAIL_MAX) throw new InvalidArgumentError(`thumbnails: maxSize must be 16 to ${DISK_THUMBNAIL_MAX}; got ${maxSize} (ask larger images one by one with \`image\`)`);
    const images = await Promise.all(
      itemIds.map(async (itemId): Promise<ThumbnailView> => {
        try {
          const item = this.held.get(itemId);
          const image = await this.host.images.image(item, maxSize);
          return { itemId, mime: image.mime, width: image.width, height: image.height, data: Buffer.from(image.bytes.buffer, image.bytes.byteOffset, image.bytes.byteLength).toString('base64') };
        } catch (error) {
          return { itemId, problem: messageOf(error) };
        }
      }),
    );
    this.reply({ type: 'thumbnails', requestId, size: maxSize, images });
  }

  /** Views of items as stored now, for a client whose copy was out of date. */
  private freshViews(ids: number[]): ItemView[] {
    const views: ItemView[] = [];
    for (const id of ids) {
      try {
        views.push(this.host.view(this.held.reread(id)));
      } catch {
        // gone: nothing to show
      }
    }
    return views;
  }

  private views(ids: number[]): ItemView[] {
    const views: ItemView[] = [];
    for (const id of ids) {
      let item: ItemWithState;
      try {
        item = this.held.get(id);
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
    this.host.release(new Set([...this.queue, ...this.pageIds]));
    this.queue = [];
    this.pageIds = [];
    this.foundIds = [];
    this.held.clear();
    this.unsubscribe();
  }
}

/** The store action of a caption or tags message: the session's user is a caption's author, its source human. */
function describeAction(message: Extract<ClientMessage, { type: 'caption' | 'tags' | 'add_caption' | 'remove_caption' }>, user: string): ItemAction {
  switch (message.type) {
    case 'caption':
      return { kind: 'caption', caption: message.caption };
    case 'tags':
      return { kind: 'tags', tags: message.tags };
    case 'add_caption':
      if (message.caption.trim() === '') throw new InvalidArgumentError(`add_caption: the caption of item ${message.itemId} is empty; type some text`);
      return { kind: 'add_caption', caption: message.caption, source: 'human', author: user };
    case 'remove_caption':
      return { kind: 'remove_caption', caption: message.caption, source: 'human', author: user };
  }
}

/** Labeled by a person, skipped, marked don't-know or deleted: no longer to be labeled. */
function isSettled(item: ItemWithState): boolean {
  return item.labelSource === 'human' || item.skipped || item.dontKnow || item.deleted;
}

/** The store's filter for a `browse` (the protocol names only what the grid asks for). */
function browseWhere(filter: BrowseFilter = {}): ItemFilter {
  const where: ItemFilter = {};
  if (filter.label !== undefined) where.label = filter.label;
  if (filter.labeled !== undefined) where.labeled = filter.labeled;
  if (filter.tag !== undefined) where.tag = filter.tag;
  if (filter.hasCaption !== undefined) where.hasCaption = filter.hasCaption;
  // The store matches with LIKE: a % or _ typed in the filter matches more paths, never fewer.
  if (filter.uri !== undefined) where.uriLike = `%${filter.uri}%`;
  return where;
}

/** The user a hello names, checked by the store's rule: refused here, before anything is recorded under it. */
function checkUser(user: string): string {
  if (!isUserName(user)) throw new ProtocolError(`quicksort: hello: user must be 1–200 characters; got ${JSON.stringify(user)}`);
  return user;
}
