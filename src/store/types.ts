/** Who or what produced an action. */
export type ActionSource = 'human' | 'model' | 'vlm';

/** Where a caption came from: an action's source, or a file of captions imported (COCO, CSV, JSONL). */
export type CaptionSource = ActionSource | 'import';

/** One of an item's captions, as derived from the log. */
export interface ItemCaption {
  text: string;
  source: CaptionSource;
  /** Who wrote it: the user, or the name of the file it was imported from. */
  author: string;
  /** When it was added (ms since the epoch): the time of its event. */
  time: number;
}

/** An axis-aligned box in pixels of the source image: [x, y, width, height], as COCO writes it. */
export type Box = [number, number, number, number];

/** One image (or crop of an image) in the dataset. */
export interface Item {
  id: number;
  /** Path relative to the dataset root, with `/` separators. */
  uri: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
  /** sha256 of the file's bytes, hex. */
  hash: string;
  split: string | null;
  /** For crops: the image the crop was cut from, relative to its own images folder. */
  sourceUri: string | null;
  box: Box | null;
  cocoImageId: number | null;
  cocoAnnotationId: number | null;
  /** The file was not found at the last ingest; its labels are kept. */
  missing: boolean;
}

/** The current state of an item, derived from its events. */
export interface ItemState {
  label: string | null;
  labelSource: ActionSource | null;
  confidence: number | null;
  labeledBy: string | null;
  skipped: boolean;
  dontKnow: boolean;
  /**
   * The caption a person sees and edits: the one most recently set with a `caption` action and still in
   * effect, else the first of {@link captions}; null when there is none.
   */
  caption: string | null;
  /** Every caption of the item in the order they were added (a person's own, imported ones, model drafts). */
  captions: ItemCaption[];
  tags: string[];
  deleted: boolean;
  /** The sequence number of the last event that touched the item (0 = never touched): an optimistic-concurrency token. */
  version: number;
}

export type ItemWithState = Item & ItemState;

/** The actions a person or model can take on an item. Each is stored as an appended event. */
export type ItemAction =
  | { kind: 'label'; label: string }
  | { kind: 'unlabel' }
  | { kind: 'skip' }
  | { kind: 'dont_know' }
  /** The acting user's own caption: replaces the one they set before (of the same source); null or '' clears it. */
  | { kind: 'caption'; caption: string | null }
  /**
   * Adds a caption beside the others. `source` defaults to the action's source, `author` to its user; a caption
   * with the same text and source as one the item has already is not added again (re-imports are idempotent).
   */
  | { kind: 'add_caption'; caption: string; source?: CaptionSource; author?: string }
  /** Takes away the captions with this text (only those of `source` and `author`, when given). */
  | { kind: 'remove_caption'; caption: string; source?: CaptionSource; author?: string }
  | { kind: 'tags'; tags: string[] }
  | { kind: 'delete' }
  | { kind: 'restore' };

export type ItemActionKind = ItemAction['kind'];
export type EventKind = ItemActionKind | 'undo' | 'redo';

export interface StoredEvent {
  seq: number;
  itemId: number | null;
  kind: EventKind;
  payload: Record<string, unknown>;
  user: string;
  source: ActionSource;
  confidence: number | null;
  /** Events written together (a grid page accepted at once) share a batch and are undone together. */
  batch: number;
  time: number;
  /** Derived: the event was undone and not redone. */
  undone: boolean;
}

export interface ActionOptions {
  user?: string;
  source?: ActionSource;
  confidence?: number;
  /** Refuse with ConflictError unless the item's version still equals this (someone else acted first). */
  ifVersion?: number;
  /**
   * Join the batch this earlier event of the same user began (a batch's id is its first event's seq), so one
   * undo takes back work written in several transactions: a large import that releases the write lock between
   * its chunks, so that labeling goes on meanwhile.
   */
  batch?: number;
}

export interface ItemFilter {
  ids?: number[];
  /** A class name, or null for items without a label. */
  label?: string | null;
  labeled?: boolean;
  labelSource?: ActionSource;
  split?: string | null;
  /** Default false: deleted items are hidden unless asked for. */
  deleted?: boolean;
  skipped?: boolean;
  dontKnow?: boolean;
  hasCaption?: boolean;
  tag?: string;
  /** A SQL LIKE pattern on the uri, e.g. `train/%`. */
  uriLike?: string;
  missing?: boolean;
}

/**
 * An action applied under an idempotency key ({@link Store.applyOnce}): its content's digest and the events it
 * appended, `firstSeq`..`lastSeq` (both null when it appended none: an undo with nothing to undo, a class).
 */
export interface AppliedActionKey {
  digest: string;
  firstSeq: number | null;
  lastSeq: number | null;
  time: number;
}

export interface ItemQuery {
  where?: ItemFilter;
  limit?: number;
  offset?: number;
}

export interface ClassInfo {
  id: number;
  name: string;
  /** The keyboard key bound to the class in the labeling app. */
  key: string | null;
  count: number;
}

export interface IngestFailure {
  uri: string;
  reason: string;
  time: number;
}

export interface DatasetStats {
  items: number;
  labeled: number;
  labeledByHuman: number;
  labeledByModel: number;
  unlabeled: number;
  skipped: number;
  dontKnow: number;
  deleted: number;
  captioned: number;
  missing: number;
  failed: number;
  events: number;
  classes: { name: string; count: number }[];
  duplicateGroups: number;
}

/** What an item looks like to ingest: everything but the id and derived flags. */
export type ItemRecord = Omit<Item, 'id' | 'missing'> & { mtimeMs: number };
