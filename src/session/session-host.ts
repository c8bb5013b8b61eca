import type { Dataset } from '../dataset';
import { messageOf } from '../errors';
import { ActiveLearner, getRanker, OnnxScorer, RANKER_NAMES, type EmbeddingMatrix, type RankerName, type Suggestion } from '../learn';
import type { ItemWithState, StoredEvent } from '../store';
import { encodeImage } from './encode-image';
import { followEvents } from './event-follower';
import { ImageCache, type EncodedImage } from './image-cache';
import { DISK_THUMBNAIL_MAX, ThumbnailCache, thumbnailCachePath } from './thumbnail-cache';
import type { ClassView, Envelope, ItemView, ServerMessage, SessionStats } from './protocol';

export interface SessionHostOptions {
  /** Embeddings of the dataset's items; without them the queue is in id order and only stored suggestions show. */
  embeddings?: EmbeddingMatrix;
  ranker?: RankerName;
  /** Milliseconds between background re-scores of every item (they follow labels, coalesced). */
  rescoreDelayMs?: number;
  /** Refit the head from scratch after this many new labels. */
  refitEvery?: number;
  /** Bytes of resized images (focus images, grid thumbnails) kept for every session; default 64 MiB. */
  imageCacheBytes?: number;
  /**
   * The thumbnail cache on disk (images up to 384 px, by content hash and size, shared by every session and
   * kept across restarts): its file, or false for none. Default: `thumbnails.db` beside the store file.
   */
  thumbnailCache?: string | false;
  /** Where the thumbnail cache reports that it was rebuilt or turned off (default: nowhere). */
  log?: (line: string) => void;
  /**
   * Milliseconds between looks at the store's event log for actions written elsewhere (the CLI, a notebook
   * cell, another server) that the pages must learn about; default 500.
   */
  followIntervalMs?: number;
  /**
   * Milliseconds of the learner's start-up (learning the stored labels, the full fit) done at once, in the
   * constructor; the rest runs in slices between requests, and {@link SessionHost.ready} says when it is
   * done. Default 500: a small dataset's first page already has suggestions, a large one's server listens.
   */
  warmUpBudgetMs?: number;
}

type Listener = (envelope: Envelope<ServerMessage>) => void;

const PROGRESS_INTERVAL_MS = 200;
/** Longest stretch of start-up training between two looks at the event loop. */
const WARM_UP_SLICE_MS = 15;

/**
 * What all labeling sessions on one dataset share: the store, the learner (one model per dataset, taught by
 * every user's labels), which items are handed out (so two people never get the same one), and the
 * background re-score. Transports create one {@link LabelingSession} per client on top of it.
 */
export class SessionHost {
  /** Resolves when the learner has learned every label the store held at start (at once on small datasets). */
  readonly ready: Promise<void>;
  readonly hasEmbeddings: boolean;
  private trained: ActiveLearner | undefined;
  private warming: ActiveLearner | undefined;
  /** Items synced while the learner was still starting: it learns their state as it is when it is ready. */
  private syncedWhileWarming: Set<number> | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly handedOutById = new Set<number>();
  private rescoreTimer: NodeJS.Timeout | undefined;
  private rescoring: Promise<void> | undefined;
  private rescoreAgain = false;
  private scorer: OnnxScorer | undefined;
  private readonly rescoreDelayMs: number;
  private readonly refitEvery: number;
  private sinceRefit = 0;
  private closed = false;
  readonly curve: { labels: number; accuracy: number }[] = [];
  /** Images resized for display, shared by the sessions: thumbnails are made once per size. */
  readonly images: ImageCache;
  /** Thumbnails on disk, shared with other processes and later starts; undefined when turned off. */
  readonly thumbnails: ThumbnailCache | undefined;
  /** Images being made now, by cache key: two asks for one image share one resize. */
  private readonly making = new Map<string, Promise<EncodedImage>>();
  /** When each task's progress was last sent: the apps get at most a few updates a second. */
  private readonly progressSentAt = new Map<string, number>();
  private readonly stopWatchingProgress: () => void;
  private readonly stopFollowingEvents: () => void;
  /** Each item's version as this host last applied it: a newer one in the log was written by someone else. */
  private readonly appliedVersions = new Map<number, number>();

  constructor(
    readonly dataset: Dataset,
    options: SessionHostOptions = {},
  ) {
    this.rescoreDelayMs = options.rescoreDelayMs ?? 250;
    this.refitEvery = options.refitEvery ?? 200;
    this.images = new ImageCache(options.imageCacheBytes);
    const storeFile = dataset.store.file;
    const thumbnailFile = options.thumbnailCache ?? (storeFile && storeFile !== ':memory:' && !dataset.store.db.readonly ? thumbnailCachePath(storeFile) : false);
    this.thumbnails = thumbnailFile === false ? undefined : ThumbnailCache.open(thumbnailFile, { log: options.log });
    // Long work on the dataset started elsewhere (a notebook cell's ds.embed(), an export) shows in every app.
    this.stopWatchingProgress = dataset.watchProgress(({ task, done, total }) => {
      const now = Date.now();
      const finished = total > 0 && done >= total;
      if (!finished && now - (this.progressSentAt.get(task) ?? 0) < PROGRESS_INTERVAL_MS) return;
      if (finished) this.progressSentAt.delete(task);
      else this.progressSentAt.set(task, now);
      this.broadcast({ type: 'progress', task, done, total });
    });
    // Follows the log from before the learner reads the store, so no write in between is missed.
    this.stopFollowingEvents = followEvents(dataset.store, (events) => this.applyLogged(events), {
      intervalMs: options.followIntervalMs,
      onError: (error) => options.log?.(`quicksort: could not read new events from the store: ${messageOf(error)}`),
    });
    this.hasEmbeddings = options.embeddings !== undefined && options.embeddings.ids.length > 0;
    this.ready = Promise.resolve();
    if (options.embeddings && this.hasEmbeddings) {
      this.ready = this.warmUp(new ActiveLearner(options.embeddings, { ranker: options.ranker ?? 'hybrid' }), options.warmUpBudgetMs ?? 500);
      // The SIMD scorer loads in the background; until then re-scores run in JavaScript.
      OnnxScorer.create().then(
        (scorer) => {
          if (this.closed) void scorer.close();
          else this.scorer = scorer;
        },
        () => undefined,
      );
    }
  }

  /** The learner, once it has learned the stored labels (until then: items in order, no suggestions). */
  get learner(): ActiveLearner | undefined {
    return this.trained;
  }

  get rankerName(): string {
    return (this.trained ?? this.warming)?.rankerName ?? 'order';
  }

  setRanker(name: string): void {
    getRanker(name); // validates, with the list of names in the error
    (this.trained ?? this.warming)?.setRanker(name);
  }

  rankers(): { name: string; summary: string }[] {
    return RANKER_NAMES.map((name) => ({ name, summary: getRanker(name).summary }));
  }

  /** Subscribes to messages for every client (item changes, classes, progress). */
  onBroadcast(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  broadcast(message: ServerMessage): void {
    for (const listener of this.listeners) listener({ message });
  }

  /** The next `count` items for a client, never one already handed out to anyone. */
  take(count: number, exclude: ReadonlySet<number>): number[] {
    if (count <= 0) return [];
    let ids: number[];
    if (this.learner) {
      ids = this.learner.next(count).map((pick) => pick.id);
    } else {
      // No embeddings: unlabeled items in id order.
      ids = [];
      for (const item of this.dataset.store.iterateItems({ labeled: false, skipped: false, dontKnow: false })) {
        if (this.handedOutById.has(item.id) || exclude.has(item.id)) continue;
        ids.push(item.id);
        if (ids.length === count) break;
      }
    }
    for (const id of ids) this.handedOutById.add(id);
    return ids;
  }

  /** A grid page: items the head believes share one class. */
  page(size: number, label?: string): { label: string | null; ids: number[] } {
    if (!this.learner) return { label: null, ids: this.take(size, new Set()) };
    const page = this.learner.page(size, label);
    if (!page || page.items.length === 0) return { label: null, ids: this.take(size, new Set()) };
    for (const { id } of page.items) this.handedOutById.add(id);
    return { label: page.label, ids: page.items.map((item) => item.id) };
  }

  release(ids: Iterable<number>): void {
    for (const id of ids) {
      this.handedOutById.delete(id);
      if (this.learner?.has(id)) this.learner.release(id);
    }
  }

  /** Brings the learner in line with the store's state of these items (after labels, undo, redo, other users). */
  sync(ids: Iterable<number>): void {
    this.syncItems([...ids].map((id) => this.dataset.store.item(id)));
  }

  /** {@link sync} with the items as already read: what is applied is exactly what the caller shows. */
  private syncItems(items: ItemWithState[]): void {
    let learned = 0;
    for (const item of items) {
      this.appliedVersions.set(item.id, item.version);
      this.syncedWhileWarming?.add(item.id);
      if (this.learner?.has(item.id)) learned += this.syncItem(this.learner, item);
    }
    if (!this.learner) return;
    if (learned > 0) {
      this.sinceRefit += learned;
      if (this.sinceRefit >= this.refitEvery) {
        this.sinceRefit = 0;
        this.learner.head.fit();
      }
      const accuracy = this.learner.head.heldOutAccuracy();
      if (accuracy !== undefined && this.learner.labeledCount % 10 === 0) this.curve.push({ labels: this.learner.labeledCount, accuracy });
    }
    this.scheduleRescore();
  }

  /**
   * Actions found in the log that this host did not apply (written by another process, or by a notebook cell
   * on the same dataset): the learner learns them, and every page gets the items as they are now, as after
   * an undo — its queue drops what is no longer to label — and the class counts.
   */
  private applyLogged(events: StoredEvent[]): void {
    const changed: ItemWithState[] = [];
    for (const id of new Set(events.map((event) => event.itemId))) {
      if (id === null) continue;
      const item = this.dataset.store.item(id);
      if (this.appliedVersions.get(id) !== item.version) changed.push(item);
    }
    if (changed.length === 0) return;
    this.syncItems(changed);
    this.broadcast({ type: 'items', items: changed.map((item) => this.view(item)) });
    this.broadcast({ type: 'classes', classes: this.classes() });
  }

  /**
   * Brings the learner up: every stored label learned one by one, the deleted items excluded, a full fit and
   * a re-score — on a fully labeled dataset of 600 crops in 80 classes, tens of seconds of CPU. The first
   * `budgetMs` run at once; the rest in slices of the event loop, so the server answers meanwhile (pages get
   * items in order, without suggestions, until it is ready, then the items they hold again with them).
   */
  private async warmUp(learner: ActiveLearner, budgetMs: number): Promise<void> {
    this.warming = learner;
    this.syncedWhileWarming = new Set();
    // Read now, in one go: a statement left open across the slices would hold the store's connection.
    // Only items that are not plain candidates change the learner (a new one holds every row as a candidate).
    const stored: ItemWithState[] = [];
    for (const item of this.dataset.store.iterateItems({})) if (item.labelSource === 'human' || item.skipped || item.dontKnow) stored.push(item);
    const deleted = [...this.dataset.store.iterateItems({ deleted: true })].map((item) => item.id);
    const steps = this.training(learner, stored, deleted);
    let sliceEnd = performance.now() + budgetMs;
    let inBackground = false;
    while (!this.closed) {
      if (performance.now() >= sliceEnd) {
        inBackground = true;
        await new Promise((resolve) => setImmediate(resolve));
        sliceEnd = performance.now() + WARM_UP_SLICE_MS;
        continue;
      }
      if (!steps.next().done) continue;
      this.trained = learner;
      this.warming = undefined;
      for (const id of this.handedOutById) if (learner.has(id)) learner.hold(id);
      const synced = this.syncedWhileWarming;
      this.syncedWhileWarming = undefined;
      if (synced.size > 0) this.sync(synced);
      if (inBackground && this.handedOutById.size > 0) {
        this.broadcast({ type: 'items', items: [...this.handedOutById].map((id) => this.view(this.dataset.store.item(id))) });
      }
      return;
    }
  }

  /** The start-up work, one small piece per iteration: exactly what a start at once does, in the same order. */
  private *training(learner: ActiveLearner, stored: ItemWithState[], deleted: number[]): Generator<void> {
    for (const item of stored) {
      if (learner.has(item.id)) this.syncItem(learner, item);
      yield;
    }
    for (const id of deleted) if (learner.has(id)) learner.setShown(id, 'excluded');
    yield* learner.head.fitting();
    learner.rescore();
  }

  /** Returns 1 when the head learned a new label. */
  private syncItem(learner: ActiveLearner, item: ItemWithState): number {
    const humanLabel = item.labelSource === 'human' ? item.label : null;
    const known = learner.labelOf(item.id);
    if (humanLabel && known !== humanLabel) {
      learner.learn(item.id, humanLabel);
      this.handedOutById.delete(item.id);
      return 1;
    }
    if (!humanLabel && known) learner.forget(item.id);
    if (!humanLabel) {
      learner.setShown(item.id, item.deleted ? 'excluded' : item.dontKnow ? 'dont-know' : item.skipped ? 'skipped' : 'candidate');
      if (item.deleted || item.dontKnow || item.skipped) this.handedOutById.delete(item.id);
    }
    return 0;
  }

  /** Coalesces re-scores: at most one runs, and one more follows if labels arrived meanwhile. */
  private scheduleRescore(): void {
    if (!this.learner || this.closed) return;
    if (this.rescoring) {
      this.rescoreAgain = true;
      return;
    }
    if (this.rescoreTimer) return;
    this.rescoreTimer = setTimeout(() => {
      this.rescoreTimer = undefined;
      this.rescoring = (this.scorer ? this.learner!.rescoreWith(this.scorer) : Promise.resolve(this.learner!.rescore()))
        .catch(() => this.learner!.rescore())
        .finally(() => {
          this.rescoring = undefined;
          if (this.rescoreAgain) {
            this.rescoreAgain = false;
            this.scheduleRescore();
          }
        });
    }, this.rescoreDelayMs);
    this.rescoreTimer.unref?.();
  }

  /** Resolves when no re-score is pending (tests, benchmarks, shutdown). */
  async settled(): Promise<void> {
    while (this.rescoreTimer || this.rescoring) {
      if (this.rescoring) await this.rescoring;
      else await new Promise((resolve) => setTimeout(resolve, this.rescoreDelayMs));
    }
  }

  /**
   * An item's image, no larger than `size` px: from the memory cache, else (thumbnails) from the cache on disk,
   * else resized by sharp off this thread and kept in both. Throws a NotFoundError the person can read when
   * the file is gone or cannot be decoded.
   */
  async image(item: ItemWithState, size: number): Promise<EncodedImage> {
    const key = ImageCache.key(item.id, item.hash, size, false);
    const held = this.images.get(key);
    if (held) return held;
    const onDisk = size <= DISK_THUMBNAIL_MAX ? this.thumbnails?.get(item.hash, size) : undefined;
    if (onDisk) {
      this.images.set(key, onDisk);
      return onDisk;
    }
    let making = this.making.get(key);
    if (!making) {
      making = encodeImage(this.dataset.pathOf(item), size, `the image of item ${item.id} (${item.uri})`).then((image) => {
        this.images.set(key, image);
        if (size <= DISK_THUMBNAIL_MAX) this.thumbnails?.put(item.hash, size, image);
        return image;
      });
      const forget = () => this.making.delete(key);
      making.then(forget, forget);
      this.making.set(key, making);
    }
    return making;
  }

  /** The suggestion to show: a stored model/VLM label (e.g. a COCO detection) first, else the head's. */
  suggestionFor(item: ItemWithState): Suggestion | undefined {
    if (item.label && item.labelSource !== 'human') {
      return { label: item.label, confidence: item.confidence ?? 1, alternatives: this.learner?.has(item.id) ? (this.learner.suggest(item.id)?.alternatives ?? []) : [] };
    }
    return this.learner?.has(item.id) ? this.learner.suggest(item.id) : undefined;
  }

  view(item: ItemWithState, problem: string | null = null): ItemView {
    const suggestion = item.labelSource === 'human' ? undefined : this.suggestionFor(item);
    return {
      id: item.id,
      uri: item.uri,
      width: item.width,
      height: item.height,
      box: item.box,
      sourceUri: item.sourceUri,
      label: item.label,
      labelSource: item.labelSource,
      labeledBy: item.labeledBy,
      caption: item.caption,
      tags: item.tags,
      skipped: item.skipped,
      dontKnow: item.dontKnow,
      version: item.version,
      suggestion: suggestion ?? null,
      problem: problem ?? (item.missing ? 'the image file was not found at the last ingest' : null),
    };
  }

  classes(): ClassView[] {
    return this.dataset.classes().map((c, index) => ({ name: c.name, key: c.key ?? defaultKey(index), count: c.count }));
  }

  stats(session: { labels: number; accepted: number; startedAt: number }): SessionStats {
    const stats = this.dataset.stats();
    const minutes = (Date.now() - session.startedAt) / 60000;
    return {
      items: stats.items,
      labeled: stats.labeledByHuman,
      remaining: stats.items - stats.labeledByHuman - stats.skipped - stats.dontKnow,
      skipped: stats.skipped,
      dontKnow: stats.dontKnow,
      sessionLabels: session.labels,
      acceptedRate: session.labels ? session.accepted / session.labels : null,
      labelsPerMinute: session.labels && minutes > 0 ? session.labels / minutes : null,
      headAccuracy: this.learner?.head.heldOutAccuracy() ?? null,
      curve: this.curve.slice(-100),
      hasEmbeddings: this.hasEmbeddings,
    };
  }

  /**
   * Stops re-scoring and closes the scorer's worker once a re-score in flight has finished: a worker thread
   * torn down in the middle of an onnxruntime run aborts the whole process. Resolves when it is closed.
   */
  close(): Promise<void> {
    this.closed = true;
    if (this.rescoreTimer) clearTimeout(this.rescoreTimer);
    this.rescoreTimer = undefined;
    this.listeners.clear();
    this.stopWatchingProgress();
    this.stopFollowingEvents();
    this.thumbnails?.close();
    const scorer = this.scorer;
    this.scorer = undefined;
    if (!scorer) return Promise.resolve();
    return Promise.resolve(this.rescoring)
      .catch(() => undefined)
      .then(() => scorer.close());
  }
}

/** Keys bound to classes in order: 1–9, 0, then a–z without the letters the app uses (g, h, u). */
const KEYS = [...'1234567890', ...'abcdefijklmnopqrstvwxyz'];

export function defaultKey(index: number): string | null {
  return KEYS[index] ?? null;
}
