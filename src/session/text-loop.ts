import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, messageOf, NotFoundError } from '../errors';
import type { EmbeddingMatrix } from '../embed';
import type { StoredEvent, StoreReader } from '../store';
import { DEFAULT_EPOCHS, TEXT_MODEL_FILE, TEXT_TRAINING_FILE, TextSearch, textModelDir, trainDatasetText, type TextTrainOptions } from '../text';
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
}

/**
 * The dataset's text model in a labeling session: counts the captions that arrive (this host's writes and
 * everyone else's, through the events the host follows), trains in the text model's worker thread when
 * enough came or typing stopped (one training at a time, aborted on close), and swaps the search over to the
 * new model in one assignment once it is loaded — a search meanwhile uses the previous one. Every change of
 * state goes to `onState` (the host sends it to every app).
 */
export class TextLoop {
  private current: TextSearch | undefined;
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
  }

  get state(): TextModelState {
    return this.stateNow;
  }

  /** Whether a training is running now. */
  get isTraining(): boolean {
    return this.training !== undefined;
  }

  /**
   * The search over the model in use. Loaded on first use, and again when a model was saved by someone else
   * (`quicksort text train`, a notebook's ds.trainText) — but not while this loop trains: it swaps when done.
   * Throws a NotFoundError that says what to do when there is no model yet.
   */
  search(): TextSearch {
    if (this.current && (this.training || !this.current.isStale(this.root))) return this.current;
    if (!existsSync(path.join(textModelDir(this.root), TEXT_MODEL_FILE))) {
      if (this.current) return this.current;
      throw new NotFoundError(
        `${this.root} has no text model yet: add captions to some images (type them in the app, or quicksort captions import) and train one (quicksort text train${this.options === false ? '' : `; the app trains one by itself after ${this.everyCaptions} new captions`})`,
      );
    }
    this.current = TextSearch.open(this.root, this.store, this.embeddings);
    return this.current;
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
        signal: this.abort.signal,
        onProgress: (progress) => this.setState({ status: 'training', epoch: progress.epoch, epochs: progress.epochs, loss: progress.loss }),
      });
      if (this.closed) return;
      // The items' projection into the new space is computed off this thread (cached beside the model), then
      // the search is loaded and swapped in one assignment: a search never sees half a model.
      await prepareJointSpace({ root: this.root, storeFile: this.storeFile }, this.abort.signal);
      if (this.closed) return;
      const loaded = TextSearch.open(this.root, this.store, this.embeddings);
      this.current = loaded;
      this.setState({ status: 'ready', captions: report.captions, images: report.images, trainedAt: this.savedRecord()?.trainedAt ?? new Date().toISOString() });
    } catch (error) {
      if (this.closed) return; // aborted by close: nobody is listening
      this.setState({ status: 'failed', reason: messageOf(error) });
    }
  }

  private setState(state: TextModelState): void {
    this.stateNow = state;
    if (!this.closed) this.onState(state);
  }

  /** The state of the model saved beside the store, as the loop starts. */
  private savedState(): TextModelState {
    const record = this.savedRecord();
    if (!record) return { status: 'none', reason: 'no text model yet: add captions to some images and train one' };
    return { status: 'ready', captions: record.captions ?? 0, images: record.images ?? 0, trainedAt: record.trainedAt ?? '' };
  }

  private savedRecord(): TrainingRecord | undefined {
    const dir = textModelDir(this.root);
    if (!existsSync(path.join(dir, TEXT_MODEL_FILE))) return undefined;
    try {
      return JSON.parse(readFileSync(path.join(dir, TEXT_TRAINING_FILE), 'utf8')) as TrainingRecord;
    } catch {
      return {}; // a model without its record: searching it says what is wrong
    }
  }

  /** Stops the training under way (between two steps) and the idle timer; resolves when the worker stopped. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.abort.abort();
    await this.settled();
  }
}

/** An action that gives an item a caption: an added one, or a person's own caption set (not cleared). */
function isNewCaption(event: StoredEvent): boolean {
  if (event.kind !== 'add_caption' && event.kind !== 'caption') return false;
  const text = event.payload.caption;
  return typeof text === 'string' && text.trim() !== '';
}
