import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, messageOf, NotFoundError } from '../errors';
import type { EmbeddingMatrix } from '../embed';
import type { StoredEvent, StoreReader } from '../store';
import { AdaptedTower, ADAPTERS_FILE, ADAPTERS_TRAINING_FILE, chooseTower, DEFAULT_EPOCHS, openTextSearch, TEXT_MODEL_FILE, TEXT_TRAINING_FILE, textModelDir, trainDatasetText, type TextSearch, type TextTower, type TextTowerKind, type TextTrainOptions, type TowerChoice } from '../text';
import { prepareJointSpace } from './prepare-joint-space';
import type { TextModelState } from './protocol';

/** When the session host trains the dataset's text model by itself, and how. */
export interface TextLoopOptions {
  /** Train once this many captions arrived since the last training (default 50). */
  everyCaptions?: number;
  /**
   * Train this many milliseconds after the last new caption, however few arrived (default 120 000, two
   * minutes: a person who stopped typing captions gets a model for what they typed). `Infinity`: never on idle.
   */
  idleMs?: number;
  /** The options of each training (epochs, batch size, learning rate…). */
  training?: Omit<TextTrainOptions, 'signal' | 'onProgress'>;
}

export const DEFAULT_TRAIN_EVERY_CAPTIONS = 50;
export const DEFAULT_TRAIN_IDLE_MS = 120_000;

/** What a training leaves in training.json that the apps show. */
interface TrainingRecord {
  captions?: number;
  images?: number;
  trainedAt?: string;
  imageModel?: string;
}

/**
 * The dataset's text search in a labeling session — the text model trained on the captions, or zero-shot
 * the embedding model's own text tower until there is one — and that model's training: counts the captions
 * that arrive (this host's writes and everyone else's, through the events the host follows), trains in the
 * text model's worker thread when enough came or typing stopped (one training at a time, aborted on close),
 * and swaps the search over to the new model in one assignment once it is loaded — a search meanwhile uses
 * the previous one. Every change of state goes to `onState` (the host sends it to every app).
 */
export class TextLoop {
  private current: TextSearch | undefined;
  /** The search being opened (one at a time, whoever asks). */
  private opening: Promise<TextSearch> | undefined;
  /** How many times `current` was replaced: an open that a training's swap overtook gives way. */
  private swaps = 0;
  /** The embedding model's text tower once loaded (a worker thread holding the model). */
  private zeroShot: TextTower | undefined;
  private stateNow: TextModelState;
  private newCaptions = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private training: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly everyCaptions: number;
  private readonly idleMs: number;
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly store: StoreReader,
    /** The store's file, which a worker opens read-only to project the items into a new joint space. */
    private readonly storeFile: string,
    /** The dataset's image embeddings, as the host holds them: without them there is nothing to train on. */
    private readonly embeddings: EmbeddingMatrix | undefined,
    private readonly onState: (state: TextModelState) => void,
    private readonly options: TextLoopOptions | false = {},
  ) {
    this.everyCaptions = (options === false ? undefined : options.everyCaptions) ?? DEFAULT_TRAIN_EVERY_CAPTIONS;
    this.idleMs = (options === false ? undefined : options.idleMs) ?? DEFAULT_TRAIN_IDLE_MS;
    if (!(this.everyCaptions >= 1)) throw new InvalidArgumentError(`textTraining.everyCaptions must be 1 or more; got ${this.everyCaptions}`);
    if (!(this.idleMs >= 0)) throw new InvalidArgumentError(`textTraining.idleMs must be 0 or more (Infinity: never on idle); got ${this.idleMs}`);
    this.stateNow = this.savedState();
    // A model's tower is loaded as the session starts, not at the first search between two keypresses (its
    // files are hashed on this thread); a failure is said again, typed, by the search that needs it.
    const kind = this.choice()?.kind;
    if (kind === 'embedding-model' || kind === 'adapted') void this.search().catch(() => undefined);
  }

  get state(): TextModelState {
    return this.stateNow;
  }

  /** Whether a training is running now. */
  get isTraining(): boolean {
    return this.training !== undefined;
  }

  /**
   * The search in use: the text model trained on the captions, or zero-shot the embedding model's own text
   * tower (see {@link openTextSearch}). Opened on first use, and again when a model was saved by someone
   * else (`quicksort text train`, a notebook's ds.trainText) — but not while this loop trains: it swaps when
   * done. Opening a model's tower is asynchronous (it loads in a worker), so nothing waits on this thread.
   * Throws a NotFoundError that says what to do when no tower can answer.
   */
  async search(): Promise<TextSearch> {
    const current = this.current;
    if (current && (this.training || !current.isStale(this.root))) return current;
    // A trained model removed from disk: the one loaded goes on answering.
    if (current && current.tower.kind !== 'embedding-model' && !existsSync(path.join(textModelDir(this.root), trainedFile(current.tower.kind)))) return current;
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /** Which tower answers now (or will, at the first search): `trained`, `adapted` or `embedding-model`, and the image model of its space. */
  get tower(): { kind: TextTowerKind; imageModel: string } | undefined {
    if (this.current) return { kind: this.current.tower.kind, imageModel: this.current.tower.imageModel };
    const choice = this.choice();
    if (choice?.kind === 'trained') return { kind: 'trained', imageModel: choice.imageModel };
    if (choice?.kind === 'embedding-model' || choice?.kind === 'adapted') return { kind: choice.kind, imageModel: choice.source.modelId };
    return undefined;
  }

  private async open(): Promise<TextSearch> {
    const swaps = this.swaps;
    const search = await openTextSearch(this.root, this.store, {
      embeddings: this.embeddings,
      loaded: this.zeroShot,
      none: (why) =>
        new NotFoundError(
          `${this.root} has no text model yet: add captions to some images (type them in the app, or quicksort captions import) and train one (quicksort text train${this.options === false ? '' : `; the app trains one by itself after ${this.everyCaptions} new captions`}); ${why}`,
        ),
    });
    this.keepBase(search);
    if (this.closed) throw new NotFoundError('the session is closed');
    // A training that finished meanwhile swapped in its own model: that one wins.
    if (this.swaps !== swaps && this.current) return this.current;
    this.current = search;
    this.swaps++;
    return search;
  }

  /** The events a host met (written by its sessions or found in the log): new captions may start a training. */
  noticed(events: readonly StoredEvent[]): void {
    if (this.options === false || this.closed) return;
    const added = events.filter(isNewCaption).length;
    if (added === 0) return;
    this.newCaptions += added;
    if (this.newCaptions >= this.everyCaptions) return this.start();
    if (Number.isFinite(this.idleMs)) {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.start(), this.idleMs);
      this.idleTimer.unref();
    }
  }

  /** Resolves when no training runs (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.training) await this.training;
  }

  /** Starts a training unless one runs (that one's end looks again at what arrived meanwhile). */
  private start(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.training || this.closed || this.newCaptions === 0) return;
    if (!this.embeddings || this.embeddings.ids.length === 0) {
      this.setState({ status: 'failed', reason: `${this.root} has no image embeddings to learn captions against: embed it first (quicksort embed --dataset ${this.root})` });
      return;
    }
    this.newCaptions = 0;
    this.training = this.train().finally(() => {
      this.training = undefined;
      if (this.closed) return;
      // Captions that came during the training: enough of them start the next one now, a few wait for idle.
      if (this.newCaptions >= this.everyCaptions) this.start();
      else if (this.newCaptions > 0 && Number.isFinite(this.idleMs)) {
        this.idleTimer = setTimeout(() => this.start(), this.idleMs);
        this.idleTimer.unref();
      }
    });
  }

  private async train(): Promise<void> {
    const training = this.options === false ? {} : (this.options.training ?? {});
    this.setState({ status: 'training', epoch: 0, epochs: training.epochs ?? DEFAULT_EPOCHS, loss: null });
    try {
      const report = await trainDatasetText(this.root, this.store, {
        ...training,
        // The host's matrix: not read from the cache again on this thread.
        embeddings: training.model === undefined ? this.embeddings : undefined,
        // With a two-tower model, its text tower encodes the captions: the one held, when loaded.
        textTower: this.zeroShot,
        signal: this.abort.signal,
        onProgress: (progress) => this.setState({ status: 'training', epoch: progress.epoch, epochs: progress.epochs, loss: progress.loss }),
      });
      if (this.closed) return;
      // The items' projection into the new space is computed off this thread (cached beside the model), then
      // the search is loaded and swapped in one assignment: a search never sees half a model.
      await prepareJointSpace({ root: this.root, storeFile: this.storeFile }, this.abort.signal);
      if (this.closed) return;
      // Adapters need the embedding model's text tower: the one this loop holds, if loaded already.
      const loaded = await openTextSearch(this.root, this.store, { embeddings: this.embeddings, loaded: this.zeroShot });
      this.keepBase(loaded);
      if (this.closed) return;
      this.current = loaded;
      this.swaps++;
      this.setState({ status: 'ready', captions: report.captions, images: report.images, trainedAt: this.savedRecord(report.tower)?.trainedAt ?? new Date().toISOString(), tower: report.tower, imageModel: report.imageModel });
    } catch (error) {
      if (this.closed) return; // aborted by close: nobody is listening
      this.setState({ status: 'failed', reason: messageOf(error) });
    }
  }

  private setState(state: TextModelState): void {
    this.stateNow = state;
    if (!this.closed) this.onState(state);
  }

  /**
   * The state as the loop starts: the saved model's, or — with no model trained on these embeddings and an
   * embedding model that has a text tower — ready at once, trained on nothing (zero-shot; see {@link tower}).
   */
  private savedState(): TextModelState {
    const choice = this.choice();
    if (choice?.kind === 'embedding-model') return { status: 'ready', captions: 0, images: 0, trainedAt: '', tower: 'embedding-model', imageModel: choice.source.modelId };
    const record = this.savedRecord(choice?.kind === 'adapted' ? 'adapted' : 'trained');
    if (!record) return { status: 'none', reason: `no text model yet: add captions to some images and train one${choice?.kind === 'none' ? `; ${choice.why}` : ''}` };
    const tower = choice?.kind === 'adapted' ? 'adapted' : 'trained';
    return { status: 'ready', captions: record.captions ?? 0, images: record.images ?? 0, trainedAt: record.trainedAt ?? '', tower, ...(typeof record.imageModel === 'string' ? { imageModel: record.imageModel } : {}) };
  }

  /** The tower a search would open, from the files; undefined when they cannot tell (a damaged record: the search says what is wrong). */
  private choice(): TowerChoice | undefined {
    try {
      return chooseTower(this.root, this.embeddings?.modelId);
    } catch {
      return undefined;
    }
  }

  private savedRecord(kind: 'trained' | 'adapted'): TrainingRecord | undefined {
    const dir = textModelDir(this.root);
    if (!existsSync(path.join(dir, trainedFile(kind)))) return undefined;
    try {
      return JSON.parse(readFileSync(path.join(dir, kind === 'adapted' ? ADAPTERS_TRAINING_FILE : TEXT_TRAINING_FILE), 'utf8')) as TrainingRecord;
    } catch {
      return {}; // a model without its record: searching it says what is wrong
    }
  }

  /** The embedding model's own tower under a search (zero-shot, or under its adapters) is kept: loaded once, freed on close. */
  private keepBase(search: TextSearch): void {
    const { tower } = search;
    if (tower.kind === 'embedding-model') this.zeroShot = tower;
    else if (tower instanceof AdaptedTower) this.zeroShot = tower.base;
  }

  /** Stops the training under way (between two steps) and the idle timer; resolves when the worker stopped. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.abort.abort();
    await this.settled();
    await this.opening?.catch(() => undefined);
    await this.zeroShot?.close();
  }
}

/** An action that gives an item a caption: an added one, or a person's own caption set (not cleared). */
function isNewCaption(event: StoredEvent): boolean {
  if (event.kind !== 'add_caption' && event.kind !== 'caption') return false;
  const text = event.payload.caption;
  return typeof text === 'string' && text.trim() !== '';
}

/** The file a training of this kind leaves: the text model, or the adapters. */
function trainedFile(kind: 'trained' | 'adapted'): string {
  return kind === 'adapted' ? ADAPTERS_FILE : TEXT_MODEL_FILE;
}
