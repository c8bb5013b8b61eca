/** Who or what produced an action. */
export type ActionSource = 'human' | 'model' | 'vlm';

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
  caption: string | null;
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
  | { kind: 'caption'; caption: string | null }
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
