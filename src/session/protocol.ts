/**
 * The session protocol: every message between a labeling front end (the widget in a notebook, the web app)
 * and the engine. The one file the front end shares with the engine — types only, no runtime imports — so
 * the widget knows nothing else about it. The kernel carries these as widget custom messages, the server as
 * WebSocket frames; binary payloads (image bytes) travel beside a message as buffers.
 *
 * Every request from the client carries a `requestId`; the engine answers it with exactly one `ack` or
 * `refused` carrying the same id, so the client can apply actions optimistically and roll back on refusal.
 *
 * Every action (a message that changes the dataset: {@link ActionMessageType}) may carry an `idempotencyKey`,
 * a string the client makes unique (`${clientId}:${seq}`, 1–128 characters): an action whose key was applied
 * before is not applied again but answered as it was the first time (`ack`, with the items as they are now),
 * so a page that lost its connection sends what had no answer again, with the same keys, and nothing is done
 * twice. The same key on a different action is refused. (`add_class` has a `key` of its own: its keyboard key.)
 */
export const PROTOCOL_VERSION = 1;

export type LabelSource = 'human' | 'model' | 'vlm';

export interface SuggestionView {
  label: string;
  confidence: number;
  alternatives: { label: string; confidence: number }[];
}

/** An item as the front end shows it. */
export interface ItemView {
  id: number;
  uri: string;
  width: number;
  height: number;
  /** For crops cut from a larger image: the box in that image, [x, y, w, h]. */
  box: [number, number, number, number] | null;
  sourceUri: string | null;
  label: string | null;
  labelSource: LabelSource | null;
  labeledBy: string | null;
  caption: string | null;
  /** Every caption of the item in the order added (a person's own, imported ones, model drafts); optional for older engines. */
  captions?: CaptionView[];
  tags: string[];
  skipped: boolean;
  dontKnow: boolean;
  /** The item's version in the store: send it back with an action to detect someone else's change. */
  version: number;
  suggestion: SuggestionView | null;
  /**
   * When the item's label is a vision-language model's suggestion (`labelSource: 'vlm'`): the labelled items
   * it was shown as examples, most similar last, each with its class — what the answer stands on.
   */
  vlmExamples?: { id: number; label: string | null }[];
  /** Set when the image file is missing or unreadable: the front end shows a placeholder with this reason. */
  problem: string | null;
}

/** One of an item's captions: its text, where it came from (`human`, `import`, `model`, `vlm`) and who wrote it. */
export interface CaptionView {
  text: string;
  source: string;
  /** The user, or the name of the file it was imported from. */
  author: string;
}

/** Which items a `search` may answer with; fields combine with AND, in the same query as the search. */
export interface SearchFilter {
  /** Items with this label, or (null) without one. */
  label?: string | null;
  tag?: string;
  /** Only items without a label. */
  unlabeled?: boolean;
  /** Items of this split (`train`, `val`…), or (null) of none. */
  split?: string | null;
}

/**
 * The dataset's text model as the app shows it: none yet, training (after each epoch; epoch 0 and a null
 * loss at the start), ready (what it was trained on), or failed (why; the previous model, if any, stays in use).
 */
export type TextModelState =
  | { status: 'none'; reason: string }
  | { status: 'training'; epoch: number; epochs: number; loss: number | null }
  /**
   * `tower`: what answers — `trained` (QuickSort's text model), `adapted` (adapters on a CLIP/SigLIP model's two
   * towers) or `embedding-model` (that model's own text tower, zero-shot: trained on 0 captions); `imageModel`:
   * the embedding model whose space it is. Both optional for older engines.
   */
  | { status: 'ready'; captions: number; images: number; trainedAt: string; tower?: TextTowerName; imageModel?: string }
  | { status: 'failed'; reason: string };

/** Which text tower answers searches: see {@link TextModelState}. */
export type TextTowerName = 'trained' | 'adapted' | 'embedding-model';

/**
 * The VLM assist as the app shows it: off (no server configured, and why), or idle / asking, with what it
 * did while this engine ran (items asked, suggestions stored, requests failed) and its cost on the dataset.
 */
export type VlmStateView =
  | { status: 'off'; reason: string }
  | {
      status: 'idle' | 'asking';
      model: string;
      asked: number;
      stored: number;
      failed: number;
      /** The last round's failure as a whole (the server unreachable…), if any. */
      lastError?: string;
      cost?: { requests: number; images: number; promptTokens: number; completionTokens: number; seconds: number; cacheHits: number };
      /**
       * The last cluster verifications, newest first: a sample of the items the head predicts as `label`,
       * shown to the VLM beside the class's typical examples; those it found not to be the class carry `tag`.
       */
      verified?: { label: string; sampled: number; outliers: number; tag: string }[];
    };

export interface ClassView {
  name: string;
  /** The key bound to the class in the app: 1–9, 0, then letters. */
  key: string | null;
  count: number;
}

export interface SessionStats {
  items: number;
  labeled: number;
  remaining: number;
  skipped: number;
  dontKnow: number;
  /** Labels given in this session. */
  sessionLabels: number;
  /** Share of this session's labels where the suggestion shown was accepted as is. */
  acceptedRate: number | null;
  labelsPerMinute: number | null;
  /** The head's accuracy on labels it predicted before learning them, over the last 200. */
  headAccuracy: number | null;
  /** Points of the learning curve: head accuracy after n labels. */
  curve: { labels: number; accuracy: number }[];
  hasEmbeddings: boolean;
}

/** Which items a `browse` lists; fields combine with AND. */
export interface BrowseFilter {
  /** Items with this label, or (null) without one. */
  label?: string | null;
  labeled?: boolean;
  tag?: string;
  hasCaption?: boolean;
  /** A part of the item's path (case-sensitive). */
  uri?: string;
}

export type ClientMessage =
  /** `focus`: resume with this item first (a reloaded page), when it is still to be labeled. */
  | { type: 'hello'; requestId: number; user?: string; prefetch?: number; focus?: number }
  | { type: 'label'; requestId: number; idempotencyKey?: string; itemId: number; label: string; version?: number }
  /**
   * Enter: the suggestion as the person saw it. `label` is the class on their screen, recorded as is (the head
   * may have moved since the view was sent, e.g. after someone else's labels); without it, the engine's
   * suggestion as it stands now.
   */
  | { type: 'accept'; requestId: number; idempotencyKey?: string; itemId: number; label?: string; version?: number }
  | { type: 'skip'; requestId: number; idempotencyKey?: string; itemId: number }
  | { type: 'dont_know'; requestId: number; idempotencyKey?: string; itemId: number }
  | { type: 'undo'; requestId: number; idempotencyKey?: string }
  | { type: 'redo'; requestId: number; idempotencyKey?: string }
  | { type: 'caption'; requestId: number; idempotencyKey?: string; itemId: number; caption: string | null }
  | { type: 'tags'; requestId: number; idempotencyKey?: string; itemId: number; tags: string[] }
  /** A caption beside the item's others (source human, author the session's user); answered like `caption`. */
  | { type: 'add_caption'; requestId: number; idempotencyKey?: string; itemId: number; caption: string; version?: number }
  /** Takes away this session's user's caption with this text; answered like `caption`. */
  | { type: 'remove_caption'; requestId: number; idempotencyKey?: string; itemId: number; caption: string; version?: number }
  /**
   * Natural-language search (the dataset's text model): the `k` best items (default 40, at most 500) passing
   * `filter`, answered with `search` — a page of items the client labels, tags or captions like a grid page.
   */
  | { type: 'search'; requestId: number; text: string; k?: number; filter?: SearchFilter }
  /** The dataset's captions nearest to the item's image in the joint space (not its own), to pick from. */
  | { type: 'caption_suggestions'; requestId: number; itemId: number; k?: number }
  /**
   * Tags and a caption for many items as one undoable batch (a grid selection, search results): each item's
   * tags gain `addTags` and lose `removeTags`; `addCaption` goes beside each item's captions (source human,
   * author the session's user). Up to 500 items; answered with `ack` and the items as they are now.
   */
  | { type: 'edit_many'; requestId: number; idempotencyKey?: string; itemIds: number[]; addTags?: string[]; removeTags?: string[]; addCaption?: string }
  /**
   * Turns a vision-language model's work down: without `caption`, the item's VLM label (the item is
   * unlabeled again and not asked about again); with it, that VLM caption draft. Answered with `ack`.
   */
  | { type: 'reject_vlm'; requestId: number; idempotencyKey?: string; itemId: number; caption?: string }
  | { type: 'page'; requestId: number; size: number; label?: string }
  | { type: 'accept_page'; requestId: number; idempotencyKey?: string; label: string; itemIds: number[]; corrections?: { itemId: number; label: string }[] }
  | { type: 'set_ranker'; requestId: number; ranker: string }
  | { type: 'add_class'; requestId: number; idempotencyKey?: string; name: string; key?: string }
  /** `context`: for a crop cut from a larger image (COCO), that whole image instead, with the crop's box. */
  | { type: 'image'; requestId: number; itemId: number; maxSize?: number; context?: boolean }
  /**
   * Several small images at once (grid cells, neighbour strips): one reply with every one of them, as base64
   * in the message itself, so a front end shows each as a data: URL with no Blob or object URL, and both
   * transports carry it as plain JSON. Up to 64 ids; `maxSize` up to 384 (default 128).
   */
  | { type: 'thumbnails'; requestId: number; itemIds: number[]; maxSize?: number }
  /** A window of all items (a filter, in store order): the grid's long list. Hands nothing out. */
  | { type: 'browse'; requestId: number; offset: number; limit: number; filter?: BrowseFilter }
  /**
   * The items nearest to an item's image. `among`: `labeled` (default: the reference strip beside the current
   * image) or `all` ("more like this", answered with each item's score).
   */
  | { type: 'neighbors'; requestId: number; itemId: number; k?: number; among?: 'labeled' | 'all' }
  | { type: 'stats'; requestId: number };

export type ClientMessageType = ClientMessage['type'];

/** The messages that change the dataset: those that may carry an `idempotencyKey`. */
export type ActionMessageType =
  | 'label' | 'accept' | 'skip' | 'dont_know' | 'undo' | 'redo' | 'caption' | 'tags' | 'add_caption' | 'remove_caption'
  | 'edit_many' | 'reject_vlm' | 'accept_page' | 'add_class';

/** An action message: one that changes the dataset and may carry an `idempotencyKey`. */
export type ActionMessage = Extract<ClientMessage, { type: ActionMessageType }>;

export type ServerMessage =
  | {
      type: 'welcome';
      requestId: number;
      protocol: number;
      user: string;
      dataset: string;
      classes: ClassView[];
      ranker: string;
      rankers: { name: string; summary: string }[];
      stats: SessionStats;
      /** The text model's state (search, caption suggestions); absent from engines without text search. */
      textModel?: TextModelState;
      /** The VLM assist's state; absent from engines without it. */
      vlm?: VlmStateView;
    }
  /** The items to show next, current first; replaces the previous queue. */
  | { type: 'queue'; items: ItemView[]; ranker: string }
  | { type: 'ack'; requestId: number; items?: ItemView[] }
  /**
   * `code` is the error's code in lower case (`conflict`, `not_found`, `invalid_argument`, `busy`…, `internal`
   * for a bug); `retryable`: nothing was saved and the same request may succeed when sent again (`busy`: the
   * dataset's store was held by another writer for longer than its busy timeout).
   */
  | { type: 'refused'; requestId: number; code: string; reason: string; retryable?: boolean; items?: ItemView[] }
  | { type: 'page'; requestId: number; label: string | null; items: ItemView[] }
  /** Image bytes follow as the message's one buffer. */
  | {
      type: 'image';
      requestId: number;
      itemId: number;
      mime: string;
      width: number;
      height: number;
      /** Answering `context: true`: where the crop's box lies in this image, in its pixels [x, y, w, h]. */
      context?: { box: [number, number, number, number] };
    }
  /** Answering `thumbnails`: one entry per id asked for, in the same order. */
  | { type: 'thumbnails'; requestId: number; size: number; images: ThumbnailView[] }
  | { type: 'browse'; requestId: number; offset: number; total: number; items: ItemView[] }
  /** `scores` (cosine similarity, one per item) answer `among: 'all'`. */
  | { type: 'neighbors'; requestId: number; itemId: number; items: ItemView[]; scores?: number[] }
  /** Answering `search`: the items best first, each with its score (cosine in the joint space, in `scores`). */
  | { type: 'search'; requestId: number; text: string; items: ItemView[]; scores: number[]; tower?: TextTowerName }
  | { type: 'caption_suggestions'; requestId: number; itemId: number; captions: { text: string; score: number }[] }
  /** The text model's state changed (a training started, advanced, finished or failed). */
  | { type: 'text_model'; state: TextModelState }
  /** The VLM assist's state changed (a round started or ended). */
  | { type: 'vlm'; state: VlmStateView }
  | { type: 'classes'; classes: ClassView[] }
  | { type: 'stats'; requestId?: number; stats: SessionStats }
  /** Items changed by someone or something else (another user, an undo, a background job). */
  | { type: 'items'; items: ItemView[] }
  | { type: 'progress'; task: string; done: number; total: number };

/** One image of a `thumbnails` reply: its bytes in base64, or why there are none (the placeholder's reason). */
export type ThumbnailView =
  | { itemId: number; mime: string; width: number; height: number; data: string }
  | { itemId: number; problem: string };

/** A message with its binary buffers, as both transports carry them. */
export interface Envelope<M> {
  message: M;
  buffers?: Uint8Array[];
}
