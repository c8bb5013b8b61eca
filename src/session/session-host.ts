import { messageOf } from '../errors';
import { getRanker, RANKER_NAMES, type ActiveLearner, type EmbeddingMatrix, type Suggestion } from '../learn';
import type { ClassInfo, ItemWithState, StoredEvent } from '../store';
import { followEvents } from './event-follower';
import { LearningLoop, type LearningLoopOptions } from './learning-loop';
import type { ClassView, Envelope, ItemView, ServerMessage, SessionStats } from './protocol';
import { CaptionSuggester, SimilarImages } from './search-requests';
import { SessionImages } from './session-images';
import type { SessionSource, TaskProgress } from './session-source';
import { TextLoop, type TextLoopOptions } from './text-loop';
import { thumbnailCachePath } from './thumbnail-cache';
import { VlmLoop, type VlmLoopOptions } from './vlm-loop';

/** The learning loop's options (ranker, re-score delay, refit interval, start-up budget), and the host's own. */
export interface SessionHostOptions extends LearningLoopOptions {
  /** Embeddings of the dataset's items; without them the queue is in id order and only stored suggestions show. */
  embeddings?: EmbeddingMatrix;
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
   * When the dataset's text model trains by itself as captions arrive (every N new captions, or after M ms
   * without one), and with which training options; false: never (search uses the model saved by
   * `quicksort text train`).
   */
  textTraining?: TextLoopOptions | false;
  /**
   * The VLM assist: a second opinion on the head's hard cases and caption drafts, from the server
   * QUICKSORT_VLM_* or DIR/.quicksort/vlm.json names (off when none does), or from these options; false: off.
   */
  vlm?: VlmLoopOptions | false;
}

/** What the host tells its sessions: a message for every client, and the items it is about, as now stored. */
type Listener = (envelope: Envelope<ServerMessage>, changed?: readonly ItemWithState[]) => void;

const PROGRESS_INTERVAL_MS = 200;

/**
 * What all labeling sessions on one dataset share: the dataset's store and images (a {@link SessionSource}),
 * the learning loop (one model per dataset, taught by every user's labels), which items are handed out (so
 * two people never get the same one), and the store's log followed for writes made elsewhere. Transports
 * create one {@link LabelingSession} per client on top of it.
 */
export class SessionHost {
  /** Resolves when the learner has learned every label the store held at start (at once on small datasets). */
  readonly ready: Promise<void>;
  readonly hasEmbeddings: boolean;
  readonly images: SessionImages;
  /** The dataset's text model: search, and its training as captions arrive. */
  readonly text: TextLoop;
  /** "More like this" over the embeddings (none without them). */
  readonly similar: SimilarImages | undefined;
  /** Image → captions in the text model's joint space. */
  readonly captionSuggester: CaptionSuggester;
  /** A vision-language model's suggestions for the hard cases, and caption drafts (off without a server). */
  readonly vlm: VlmLoop;
  /** The one record of which items are handed out to a client now: the learner picks around it and adds to it. */
  private readonly handedOut = new Set<number>();
  private readonly learning: LearningLoop | undefined;
  private readonly listeners = new Set<Listener>();
  /**
   * The events this host's sessions wrote, until the follower meets them in the log (they are applied
   * already), by {@link writeKey}: how many of each are still to meet.
   */
  private readonly ownWrites = new Map<string, number>();
  /** The class names as last read: a label of a new class sends the classes to every page. */
  private knownClasses = new Set<string>();
  /** When each task's progress was last sent: the apps get at most a few updates a second. */
  private readonly progressSentAt = new Map<string, number>();
  private readonly stopWatchingProgress: () => void;
  private readonly stopFollowingEvents: () => void;

  constructor(
    readonly source: SessionSource,
    options: SessionHostOptions = {},
  ) {
    const { store } = source;
    const ownFile = store.file !== ':memory:' && !store.isReadonly;
    this.images = new SessionImages((item) => source.pathOf(item), {
      memoryBytes: options.imageCacheBytes,
      diskFile: options.thumbnailCache ?? (ownFile ? thumbnailCachePath(store.file) : false),
      log: options.log,
    });
    // Long work on the dataset started elsewhere (a notebook cell's ds.embed(), an export) shows in every app.
    this.stopWatchingProgress = source.watchProgress?.((progress) => this.progress(progress)) ?? (() => undefined);
    // Follows the log from before the learner reads the store, so no write in between is missed.
    this.stopFollowingEvents = followEvents(store, (events) => this.applyLogged(events), {
      intervalMs: options.followIntervalMs,
      onError: (error) => options.log?.(`quicksort: could not read new events from the store: ${messageOf(error)}`),
    });
    this.hasEmbeddings = options.embeddings !== undefined && options.embeddings.ids.length > 0;
    if (options.embeddings && this.hasEmbeddings) {
      this.learning = new LearningLoop(options.embeddings, store, this.handedOut, () => this.resendHandedOut(), options);
    }
    this.ready = this.learning?.ready ?? Promise.resolve();
    this.similar = options.embeddings && this.hasEmbeddings ? new SimilarImages(options.embeddings) : undefined;
    this.text = new TextLoop(source.root, store, store.file, this.hasEmbeddings ? options.embeddings : undefined, (state) => this.broadcast({ type: 'text_model', state }), options.textTraining);
    this.captionSuggester = new CaptionSuggester(source.root, store);
    this.vlm = new VlmLoop(source.root, store, () => this.learner, (state) => this.broadcast({ type: 'vlm', state }), this.hasEmbeddings ? options.vlm : false);
    // The first round asks about the hard cases once the head has scored every item.
    void this.ready.then(() => this.settled()).then(() => this.vlm.scored(), () => undefined);
  }

  /** The learner, once it has learned the stored labels (until then: items in order, no suggestions). */
  get learner(): ActiveLearner | undefined {
    return this.learning?.learner;
  }

  get curve(): readonly { labels: number; accuracy: number }[] {
    return this.learning?.curve ?? [];
  }

  get rankerName(): string {
    return this.learning?.rankerName ?? 'order';
  }

  setRanker(name: string): void {
    getRanker(name); // validates, with the list of names in the error
    this.learning?.setRanker(name);
  }

  rankers(): { name: string; summary: string }[] {
    return RANKER_NAMES.map((name) => ({ name, summary: getRanker(name).summary }));
  }

  /** Subscribes to messages for every client (item changes, classes, progress). */
  onBroadcast(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends a message to every client; `changed`: the items it is about, as now stored (sessions update theirs). */
  broadcast(message: ServerMessage, changed?: readonly ItemWithState[]): void {
    for (const listener of this.listeners) listener({ message }, changed);
  }

  /** The next `count` items for a client, never one already handed out to anyone (the learner records its picks). */
  take(count: number, exclude: ReadonlySet<number>): number[] {
    if (count <= 0) return [];
    if (this.learner) return this.learner.next(count).map((pick) => pick.id);
    // No learner (yet): unlabeled items in id order.
    const ids: number[] = [];
    for (const item of this.source.store.iterateItems({ labeled: false, skipped: false, dontKnow: false })) {
      if (this.handedOut.has(item.id) || exclude.has(item.id)) continue;
      ids.push(item.id);
      this.handedOut.add(item.id);
      if (ids.length === count) break;
    }
    return ids;
  }

  /** A grid page: items the head believes share one class. */
  page(size: number, label?: string): { label: string | null; ids: number[] } {
    const page = this.learner?.page(size, label);
    if (!page || page.items.length === 0) return { label: null, ids: this.take(size, new Set()) };
    return { label: page.label, ids: page.items.map((item) => item.id) };
  }

  release(ids: Iterable<number>): void {
    for (const id of ids) this.handedOut.delete(id);
  }

  /**
   * After a session of this host wrote `events` (actions; or the events an undo or redo took back or
   * re-applied): the learner learns the items as they are now, and the follower will not apply those
   * writes a second time when it meets them in the log.
   */
  wrote(events: readonly StoredEvent[], items: readonly ItemWithState[], as: 'act' | 'undo' | 'redo' = 'act'): void {
    for (const event of events) {
      const key = as === 'act' ? writeKey(event) : `${as}:${event.seq}`;
      this.ownWrites.set(key, (this.ownWrites.get(key) ?? 0) + 1);
    }
    if (as === 'act') this.text.noticed(events);
    this.captionSuggester.noticed(events);
    if (as === 'act') this.vlm.noticed(events);
    this.learning?.sync(items);
  }

  /**
   * Actions found in the log that this host's sessions did not write (another process, a notebook cell on
   * the same dataset): the learner learns them, and every page gets the items as they are now, as after an
   * undo — its queue drops what is no longer to label — and the class counts.
   */
  private applyLogged(events: StoredEvent[]): void {
    const ids = new Set<number>();
    const foreign: StoredEvent[] = [];
    for (const event of events) {
      const key = writeKey(event);
      const own = this.ownWrites.get(key);
      if (own === undefined) {
        foreign.push(event);
        if (event.itemId !== null) ids.add(event.itemId);
      } else if (own > 1) this.ownWrites.set(key, own - 1);
      else this.ownWrites.delete(key);
    }
    // Captions typed by other users or imported by another process count towards the next training too.
    this.text.noticed(foreign);
    this.captionSuggester.noticed(foreign);
    if (ids.size === 0) return;
    const changed = [...ids].map((id) => this.source.store.item(id));
    this.learning?.sync(changed);
    this.broadcast({ type: 'items', items: changed.map((item) => this.view(item)) }, changed);
    this.broadcast({ type: 'classes', classes: this.classes() });
  }

  /** Start-up ran in the background: the items handed out meanwhile go out again, now with suggestions. */
  private resendHandedOut(): void {
    if (this.handedOut.size === 0) return;
    const items = this.source.store.items({ where: { ids: [...this.handedOut] } });
    this.broadcast({ type: 'items', items: items.map((item) => this.view(item)) }, items);
  }

  private progress({ task, done, total }: TaskProgress): void {
    const now = Date.now();
    const finished = total > 0 && done >= total;
    if (!finished && now - (this.progressSentAt.get(task) ?? 0) < PROGRESS_INTERVAL_MS) return;
    if (finished) this.progressSentAt.delete(task);
    else this.progressSentAt.set(task, now);
    this.broadcast({ type: 'progress', task, done, total });
  }

  /** Resolves when no re-score is pending (tests, benchmarks, shutdown). */
  settled(): Promise<void> {
    return this.learning?.settled() ?? Promise.resolve();
  }

  /** The suggestion to show: a stored model/VLM label (e.g. a COCO detection) first, else the head's. */
  suggestionFor(item: ItemWithState): Suggestion | undefined {
    const learner = this.learner;
    if (item.label && item.labelSource !== 'human') {
      return { label: item.label, confidence: item.confidence ?? 1, alternatives: learner?.has(item.id) ? (learner.suggest(item.id)?.alternatives ?? []) : [] };
    }
    return learner?.has(item.id) ? learner.suggest(item.id) : undefined;
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
      captions: item.captions.map(({ text, source, author }) => ({ text, source, author })),
      tags: item.tags,
      skipped: item.skipped,
      dontKnow: item.dontKnow,
      version: item.version,
      suggestion: suggestion ?? null,
      ...(item.labelSource === 'vlm' ? this.vlmExamples(item.id) : {}),
      problem: problem ?? (item.missing ? 'the image file was not found at the last ingest' : null),
    };
  }

  /** The examples a VLM suggestion was made from, with their classes as the learner knows them now. */
  private vlmExamples(id: number): Pick<ItemView, 'vlmExamples'> {
    const examples = this.vlm.examples(id);
    return examples ? { vlmExamples: examples.map((example) => ({ id: example, label: this.learner?.labelOf(example) ?? null })) } : {};
  }

  /** The classes with their keys and counts (a read of the classes alone: the store keeps the counts). */
  classes(): ClassView[] {
    const classes: ClassInfo[] = this.source.store.classes();
    this.knownClasses = new Set(classes.map((c) => c.name));
    return classes.map((c, index) => ({ name: c.name, key: c.key ?? defaultKey(index), count: c.count }));
  }

  /** Whether the class was known when the classes were last read: a label of a new one sends them again. */
  knowsClass(name: string): boolean {
    return this.knownClasses.has(name);
  }

  addClass(name: string, key: string | null): void {
    this.source.store.addClass(name, key);
  }

  stats(session: { labels: number; accepted: number; startedAt: number }): SessionStats {
    const stats = this.source.store.stats();
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
   * Stops following the store and re-scoring; resolves when the learning loop's scorer is closed (see
   * {@link LearningLoop.close}).
   */
  close(): Promise<void> {
    this.listeners.clear();
    this.stopWatchingProgress();
    this.stopFollowingEvents();
    this.images.close();
    return Promise.all([this.text.close(), this.learning?.close(), this.vlm.close()]).then(() => undefined);
  }
}

/** An event as the log holds it: an action by its seq, an undo or redo marker by the event it targets. */
function writeKey(event: StoredEvent): string {
  return event.kind === 'undo' || event.kind === 'redo' ? `${event.kind}:${String(event.payload.target)}` : `seq:${event.seq}`;
}

/** Keys bound to classes in order: 1–9, 0, then a–z without the letters the app uses (g, h, u). */
const KEYS = [...'1234567890', ...'abcdefijklmnopqrstvwxyz'];

export function defaultKey(index: number): string | null {
  return KEYS[index] ?? null;
}
