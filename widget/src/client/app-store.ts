import type { BrowseFilter, ClassView, ItemView, ServerMessage, SessionStats } from '../../../src/session/protocol';
import { describeFilter, parseFilter } from './filter';
import type { ViewName } from './keymap';
import type { Incoming, Request, SessionConnection } from './session-client';

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

export interface GridPage {
  label: string | null;
  ids: number[];
}

export interface GridSnapshot {
  /** `page`: the model's page of one class, verified at a glance; `browse`: every item matching the filter. */
  mode: 'page' | 'browse';
  filterText: string;
  filter: BrowseFilter | null;
  page: GridPage | null;
  loading: boolean;
  /** Browse: the item id at each index of the filtered list, `undefined` until its window arrived. */
  browseIds: readonly (number | undefined)[];
  cursor: number;
  selection: ReadonlySet<number>;
  /** Page mode: the odd ones out, put right before the page is accepted. */
  corrections: ReadonlyMap<number, string>;
  /** Page mode: items left out of the page (`?`): not labeled now, shown again later. */
  leftOut: ReadonlySet<number>;
  columns: number;
}

export interface UiState {
  view: ViewName;
  filterText: string;
  /** The item on screen in focus, so a reloaded page comes back to it. */
  focus?: number;
}

export type TextTarget = 'caption' | 'tags' | 'filter' | 'class';

export interface AppSnapshot {
  status: 'connecting' | 'ready';
  user: string;
  dataset: string;
  classes: readonly ClassView[];
  ranker: string;
  rankers: readonly { name: string; summary: string }[];
  stats: SessionStats | null;
  /** The items to show, current first: the engine's queue with this client's optimistic actions applied. */
  queue: readonly ItemView[];
  items: ReadonlyMap<number, ItemView>;
  view: ViewName;
  grid: GridSnapshot;
  toasts: readonly Toast[];
  neighbors: ReadonlyMap<number, readonly ItemView[]>;
  progress: ReadonlyMap<string, { done: number; total: number }>;
  help: boolean;
  /** Actions sent and not yet confirmed. */
  pending: number;
  /** Labels this client made that the engine has not confirmed yet (added to the labeled count). */
  pendingLabels: number;
  /** A short sentence for screen readers about the last thing done. */
  announcement: string;
  /** A text box the views should focus (bumped `seq` each time it is asked). */
  focusRequest: { target: TextTarget; seq: number } | null;
}

export interface AppOptions {
  user?: string;
  /** Items the engine keeps ready ahead of the current one. */
  prefetch?: number;
  pageSize?: number;
  /** Restored view state (a reloaded page). */
  ui?: Partial<UiState>;
  /** Called when the view state worth restoring changes. */
  onUiChange?: (ui: UiState) => void;
}

type ActionKind = 'label' | 'accept' | 'skip' | 'dont_know' | 'caption' | 'tags' | 'accept_page' | 'redo';

interface HistoryEntry {
  requestId: number;
  kind: ActionKind;
  /** The items as they were before the action, to show again on undo. */
  before: ItemView[];
  /** A grid page accepted: how it looked, to bring it back on undo. */
  page?: { page: GridPage; corrections: Map<number, string>; leftOut: Set<number> };
}

interface FrontEntry {
  id: number;
  /** The undo that brought it back; the entry goes once that undo is confirmed and a queue follows. */
  until: number;
  confirmed: boolean;
}

const BROWSE_WINDOW = 100;
const TOAST_MS = { info: 4000, error: 9000 };
const STATS_EVERY_MS = 1000;

/**
 * The app's state and every action, speaking only the session protocol. Actions are optimistic: a label
 * moves the next item on screen at once and is confirmed by the engine's `ack`; a `refused` rolls it back with
 * a visible message. Subscribed to by React with useSyncExternalStore; no DOM in here, so it is tested
 * against a real engine session without a browser.
 *
 * @example
 * const store = new AppStore(new SessionClient(model));
 * store.start();
 * store.labelCurrent('cat');
 */
export class AppStore {
  private status: AppSnapshot['status'] = 'connecting';
  private user = '';
  private dataset = '';
  private classes: ClassView[] = [];
  private ranker = '';
  private rankers: { name: string; summary: string }[] = [];
  private stats: SessionStats | null = null;
  private readonly items = new Map<number, ItemView>();
  private serverQueue: number[] = [];
  /** Items acted on and not yet confirmed: hidden from the queue. Item id → request id. */
  private readonly pendingItems = new Map<number, number>();
  private pendingLabelCount = 0;
  private front: FrontEntry[] = [];
  private history: HistoryEntry[] = [];
  private view: ViewName;
  private grid: GridSnapshot;
  private browseGeneration = 0;
  private readonly browseRequested = new Set<number>();
  private toasts: Toast[] = [];
  private nextToastId = 1;
  private readonly neighbors = new Map<number, ItemView[]>();
  private readonly neighborsAsked = new Set<number>();
  private readonly progress = new Map<string, { done: number; total: number }>();
  private help = false;
  private announcement = '';
  private focusRequest: AppSnapshot['focusRequest'] = null;
  private inflight = 0;
  private statsTimer: ReturnType<typeof setTimeout> | undefined;
  private statsAskedAt = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly listeners = new Set<() => void>();
  private snapshot: AppSnapshot;
  private lastUi = '';
  private readonly pageSize: number;
  private closed = false;

  constructor(
    private readonly connection: SessionConnection,
    private readonly options: AppOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 40;
    this.view = options.ui?.view ?? 'focus';
    const filterText = options.ui?.filterText ?? '';
    this.grid = emptyGrid(filterText);
    connection.onPush((incoming) => this.onPush(incoming));
    this.snapshot = this.build();
  }

  // ---- subscription (React's useSyncExternalStore) -------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): AppSnapshot => this.snapshot;

  private emit(): void {
    if (this.closed) return;
    this.snapshot = this.build();
    for (const listener of this.listeners) listener();
    const ui: UiState = { view: this.view, filterText: this.grid.filterText, focus: this.snapshot.queue[0]?.id };
    const key = JSON.stringify(ui);
    if (key !== this.lastUi) {
      this.lastUi = key;
      this.options.onUiChange?.(ui);
    }
  }

  private build(): AppSnapshot {
    return {
      status: this.status,
      user: this.user,
      dataset: this.dataset,
      classes: this.classes,
      ranker: this.ranker,
      rankers: this.rankers,
      stats: this.stats,
      queue: this.displayQueue(),
      items: this.items,
      view: this.view,
      grid: this.grid,
      toasts: this.toasts,
      neighbors: this.neighbors,
      progress: this.progress,
      help: this.help,
      pending: this.inflight,
      pendingLabels: this.pendingLabelCount,
      announcement: this.announcement,
      focusRequest: this.focusRequest,
    };
  }

  /** Items brought back by undo first, then the engine's queue without what this client just acted on. */
  private displayQueue(): ItemView[] {
    const seen = new Set<number>();
    const out: ItemView[] = [];
    for (const entry of this.front) {
      const view = this.items.get(entry.id);
      if (view && !seen.has(entry.id) && !this.pendingItems.has(entry.id)) {
        seen.add(entry.id);
        out.push(view);
      }
    }
    for (const id of this.serverQueue) {
      const view = this.items.get(id);
      if (view && !seen.has(id) && !this.pendingItems.has(id)) {
        seen.add(id);
        out.push(view);
      }
    }
    return out;
  }

  // ---- connection ----------------------------------------------------------------------------------------

  /** Says hello: the engine answers with classes and stats, then the queue. */
  start(): void {
    const focus = this.options.ui?.focus;
    this.connection.request(
      { type: 'hello', ...(this.options.user ? { user: this.options.user } : {}), ...(this.options.prefetch ? { prefetch: this.options.prefetch } : {}), ...(focus !== undefined ? { focus } : {}) },
      ({ message }) => {
        if (message.type === 'welcome') {
          this.status = 'ready';
          this.user = message.user;
          this.dataset = message.dataset;
          this.classes = message.classes;
          this.ranker = message.ranker;
          this.rankers = message.rankers;
          this.stats = message.stats;
          if (this.view === 'grid') this.enterGrid();
        } else if (message.type === 'refused') {
          this.toast('error', `The session refused to start: ${message.reason}`);
        }
        this.emit();
      },
    );
  }

  private onPush({ message }: Incoming): void {
    switch (message.type) {
      case 'queue':
        this.applyViews(message.items);
        this.serverQueue = message.items.map((item) => item.id);
        this.ranker = message.ranker;
        // Undone items the engine has put back in its own queue need no place of their own any more.
        this.front = this.front.filter((entry) => !entry.confirmed);
        break;
      case 'classes':
        this.classes = message.classes;
        break;
      case 'items':
        this.applyViews(message.items);
        break;
      case 'stats':
        this.stats = message.stats;
        break;
      case 'progress':
        if (message.done >= message.total) this.progress.delete(message.task);
        else this.progress.set(message.task, { done: message.done, total: message.total });
        break;
      case 'refused':
        this.toast('error', message.reason);
        break;
      default:
        return;
    }
    this.emit();
  }

  /** Takes the engine's views of items, unless this client holds a newer optimistic one. */
  private applyViews(views: readonly ItemView[]): void {
    for (const view of views) {
      const held = this.items.get(view.id);
      if (held && held.version > view.version) continue;
      // Acted on and not confirmed: this client's optimistic view stands until the reply.
      if (this.pendingItems.has(view.id)) continue;
      if (this.front.some((entry) => entry.id === view.id && !entry.confirmed)) continue;
      this.items.set(view.id, view);
    }
  }

  /** Sends a request and counts it in flight until its reply. */
  private send(message: Request, onReply: (message: ServerMessage) => void): number {
    this.inflight++;
    return this.connection.request(message, ({ message: reply }) => {
      this.inflight--;
      onReply(reply);
      this.emit();
    });
  }

  // ---- focus: the current item ---------------------------------------------------------------------------

  get current(): ItemView | undefined {
    return this.snapshot.queue[0];
  }

  labelCurrent(label: string): void {
    const item = this.current;
    if (!item) return this.nothingToLabel();
    this.actOnItem(item, { type: 'label', itemId: item.id, label }, 'label', `${shortName(item)} labeled ${label}`);
  }

  /** Enter: the suggestion as is. */
  acceptCurrent(): void {
    const item = this.current;
    if (!item) return this.nothingToLabel();
    if (!item.suggestion) {
      this.toast('info', 'No suggestion for this item yet: press the key of its class.');
      return this.emit();
    }
    // The class on screen goes with it: the engine records what the person saw, not a newer guess.
    this.actOnItem(item, { type: 'accept', itemId: item.id, label: item.suggestion.label }, 'accept', `${shortName(item)} accepted as ${item.suggestion.label}`);
  }

  skipCurrent(): void {
    const item = this.current;
    if (!item) return this.nothingToLabel();
    this.actOnItem(item, { type: 'skip', itemId: item.id }, 'skip', `${shortName(item)} skipped`);
  }

  dontKnowCurrent(): void {
    const item = this.current;
    if (!item) return this.nothingToLabel();
    this.actOnItem(item, { type: 'dont_know', itemId: item.id }, 'dont_know', `${shortName(item)}: don't know`);
  }

  private nothingToLabel(): void {
    this.toast('info', 'Nothing left in the queue.');
    this.emit();
  }

  /** The optimistic core: the item leaves the screen now; the ack confirms, a refusal brings it back. */
  private actOnItem(item: ItemView, request: Request, kind: ActionKind, announcement: string): void {
    const labels = kind === 'label' || kind === 'accept';
    const requestId = this.send(request, (reply) => {
      if (this.pendingItems.get(item.id) === requestId) {
        this.pendingItems.delete(item.id);
        if (labels) this.pendingLabelCount--;
      }
      if (reply.type === 'ack') {
        this.applyViews(reply.items ?? []);
        this.serverQueue = this.serverQueue.filter((id) => id !== item.id);
        this.scheduleStats();
      } else if (reply.type === 'refused') {
        this.history = this.history.filter((entry) => entry.requestId !== requestId);
        if (reply.items) this.applyViews(reply.items);
        // Someone else labeled it first: it is no longer this client's to label.
        if (reply.items?.some((view) => view.id === item.id && view.labelSource === 'human')) this.serverQueue = this.serverQueue.filter((id) => id !== item.id);
        this.toast('error', `Not saved — ${shortName(item)}: ${reply.reason}`);
      }
    });
    this.pendingItems.set(item.id, requestId);
    if (labels) this.pendingLabelCount++;
    this.front = this.front.filter((entry) => entry.id !== item.id);
    this.history.push({ requestId, kind, before: [item] });
    this.announcement = announcement;
    this.emit();
  }

  // ---- undo / redo ---------------------------------------------------------------------------------------

  /** Takes back this user's last action: shown at once, confirmed by the engine. */
  undo(): void {
    const entry = this.history.pop();
    const requestId = this.send({ type: 'undo' }, (reply) => {
      if (reply.type === 'ack') {
        for (const front of this.front) if (front.until === requestId) front.confirmed = true;
        const views = reply.items ?? [];
        // The engine's answer is the truth, even where this client guessed another action.
        for (const view of views) this.items.set(view.id, view);
        if (views.length === 0) this.toast('info', 'Nothing to undo.');
        this.scheduleStats();
      } else if (reply.type === 'refused') {
        this.front = this.front.filter((front) => front.until !== requestId);
        if (entry) this.history.push(entry);
        this.toast('error', `Undo failed: ${reply.reason}`);
      }
    });
    if (entry) {
      for (const before of entry.before) {
        if (this.pendingItems.has(before.id)) {
          this.pendingItems.delete(before.id);
          if (entry.kind === 'label' || entry.kind === 'accept' || entry.kind === 'accept_page') this.pendingLabelCount--;
        }
        this.items.set(before.id, before);
      }
      if (entry.kind === 'accept_page' && entry.page && this.grid.mode === 'page') {
        this.grid = { ...this.grid, page: entry.page.page, corrections: entry.page.corrections, leftOut: entry.page.leftOut, selection: new Set(), cursor: 0, loading: false };
      } else if (entry.kind !== 'caption' && entry.kind !== 'tags' && entry.kind !== 'accept_page') {
        this.front = [...entry.before.map((view) => ({ id: view.id, until: requestId, confirmed: false })), ...this.front];
      }
      this.announcement = `undone: ${entry.before.length === 1 ? shortName(entry.before[0]!) : `${entry.before.length} items`}`;
    } else {
      this.announcement = 'undo';
    }
    this.emit();
  }

  redo(): void {
    this.send({ type: 'redo' }, (reply) => {
      if (reply.type === 'ack') {
        const views = reply.items ?? [];
        if (views.length === 0) return this.toast('info', 'Nothing to redo.');
        const before = views.map((view) => this.items.get(view.id) ?? view);
        for (const view of views) this.items.set(view.id, view);
        const done = new Set(views.filter((view) => view.labelSource === 'human' || view.skipped || view.dontKnow).map((view) => view.id));
        this.serverQueue = this.serverQueue.filter((id) => !done.has(id));
        this.front = this.front.filter((entry) => !done.has(entry.id));
        this.history.push({ requestId: -1, kind: 'redo', before });
        this.scheduleStats();
      } else if (reply.type === 'refused') {
        this.toast('error', `Redo failed: ${reply.reason}`);
      }
    });
    this.announcement = 'redo';
    this.emit();
  }

  // ---- caption and tags ----------------------------------------------------------------------------------

  setCaption(itemId: number, caption: string | null): void {
    const before = this.items.get(itemId);
    if (!before) return;
    const clean = caption && caption.trim() !== '' ? caption : null;
    if ((before.caption ?? null) === clean) return;
    this.editItem(before, { ...before, caption: clean }, { type: 'caption', itemId, caption: clean }, 'caption', clean ? 'caption saved' : 'caption removed');
  }

  setTags(itemId: number, tags: string[]): void {
    const before = this.items.get(itemId);
    if (!before) return;
    const clean = [...new Set(tags.map((tag) => tag.trim()).filter(Boolean))];
    if (JSON.stringify(clean) === JSON.stringify(before.tags)) return;
    this.editItem(before, { ...before, tags: clean }, { type: 'tags', itemId, tags: clean }, 'tags', `tags: ${clean.join(', ') || 'none'}`);
  }

  private editItem(before: ItemView, after: ItemView, request: Request, kind: ActionKind, announcement: string): void {
    this.items.set(after.id, after);
    const requestId = this.send(request, (reply) => {
      if (reply.type === 'ack') {
        this.applyViews(reply.items ?? []);
      } else if (reply.type === 'refused') {
        this.history = this.history.filter((entry) => entry.requestId !== requestId);
        this.items.set(before.id, reply.items?.find((view) => view.id === before.id) ?? before);
        this.toast('error', `Not saved — ${kind} of ${shortName(before)}: ${reply.reason}`);
      }
    });
    this.history.push({ requestId, kind, before: [before] });
    this.announcement = announcement;
    this.emit();
  }

  // ---- neighbours ----------------------------------------------------------------------------------------

  /** Asks once for the labeled items nearest to an item (the strip under the focus image). */
  wantNeighbors(itemId: number): void {
    if (this.neighborsAsked.has(itemId) || !this.stats?.hasEmbeddings) return;
    this.neighborsAsked.add(itemId);
    this.connection.request({ type: 'neighbors', itemId, k: 8 }, ({ message }) => {
      if (message.type !== 'neighbors') return;
      this.applyViews(message.items);
      this.neighbors.set(itemId, message.items);
      // Keep the map small: only recent items matter.
      if (this.neighbors.size > 64) {
        const oldest = this.neighbors.keys().next().value as number;
        this.neighbors.delete(oldest);
        this.neighborsAsked.delete(oldest);
      }
      this.emit();
    });
  }

  // ---- grid ----------------------------------------------------------------------------------------------

  toggleGrid(): void {
    this.setView(this.view === 'grid' ? 'focus' : 'grid');
  }

  setView(view: ViewName): void {
    if (view === this.view) return;
    this.view = view;
    this.help = false;
    if (view === 'grid') this.enterGrid();
    if (view === 'stats') this.requestStats();
    this.emit();
  }

  private enterGrid(): void {
    if (this.grid.mode === 'browse') {
      if (this.grid.browseIds.length === 0 && !this.grid.loading) this.loadBrowse(0, BROWSE_WINDOW);
    } else if (!this.grid.page && !this.grid.loading) {
      this.requestPage();
    }
  }

  /** The model's next page of items it believes share one class (optionally a given class). */
  requestPage(label?: string): void {
    this.grid = { ...this.grid, mode: 'page', page: null, loading: true, selection: new Set(), corrections: new Map(), leftOut: new Set(), cursor: 0 };
    this.send({ type: 'page', size: this.pageSize, ...(label ? { label } : {}) }, (reply) => {
      if (reply.type === 'page') {
        this.applyViews(reply.items);
        this.grid = { ...this.grid, page: { label: reply.label, ids: reply.items.map((item) => item.id) }, loading: false, cursor: 0, selection: new Set() };
        this.announcement = reply.items.length === 0 ? 'no page: nothing left to label' : `page of ${reply.items.length} items${reply.label ? ` predicted ${reply.label}` : ''}`;
      } else if (reply.type === 'refused') {
        this.grid = { ...this.grid, loading: false };
        this.toast('error', `No page: ${reply.reason}`);
      }
    });
    this.emit();
  }

  /** The filter box: a filter lists all matching items; an empty one goes back to the model's pages. */
  setFilter(text: string): void {
    const filter = parseFilter(text);
    this.browseGeneration++;
    this.browseRequested.clear();
    if (!filter) {
      this.grid = { ...emptyGrid(''), columns: this.grid.columns };
      this.view = 'grid';
      this.requestPage();
      return;
    }
    this.grid = { ...emptyGrid(describeFilter(filter)), mode: 'browse', filter, columns: this.grid.columns, loading: true };
    this.view = 'grid';
    this.loadBrowse(0, BROWSE_WINDOW);
    this.emit();
  }

  /** Browse: makes sure the items at these indexes are loaded (the grid asks for what is on screen). */
  ensureBrowsed(start: number, end: number): void {
    if (this.grid.mode !== 'browse') return;
    const last = Math.min(end, this.grid.browseIds.length);
    for (let window = Math.floor(Math.max(0, start) / BROWSE_WINDOW) * BROWSE_WINDOW; window < last; window += BROWSE_WINDOW) {
      if (!this.browseRequested.has(window)) this.loadBrowse(window, BROWSE_WINDOW);
    }
  }

  private loadBrowse(offset: number, limit: number): void {
    const generation = this.browseGeneration;
    this.browseRequested.add(offset);
    this.connection.request({ type: 'browse', offset, limit, ...(this.grid.filter ? { filter: this.grid.filter } : {}) }, ({ message }) => {
      if (generation !== this.browseGeneration) return; // an answer for a filter no longer shown
      if (message.type === 'browse') {
        this.applyViews(message.items);
        const ids = this.grid.browseIds.length === message.total ? [...this.grid.browseIds] : Array.from({ length: message.total }, (_, i) => this.grid.browseIds[i]);
        message.items.forEach((item, index) => (ids[message.offset + index] = item.id));
        this.grid = { ...this.grid, browseIds: ids, loading: false };
        if (offset === 0) this.announcement = `${message.total} items match ${this.grid.filterText}`;
      } else if (message.type === 'refused') {
        this.browseRequested.delete(offset);
        this.grid = { ...this.grid, loading: false };
        this.toast('error', `Filter failed: ${message.reason}`);
      }
      this.emit();
    });
  }

  /** The item ids the grid shows, in order (browse: undefined where not loaded yet). */
  gridIds(): readonly (number | undefined)[] {
    return this.grid.mode === 'page' ? (this.grid.page?.ids ?? []) : this.grid.browseIds;
  }

  setColumns(columns: number): void {
    if (columns !== this.grid.columns && columns > 0) {
      this.grid = { ...this.grid, columns };
      this.emit();
    }
  }

  /** Clicks: plain selects one, shift extends from the anchor, ctrl/cmd toggles. */
  clickCell(index: number, modifiers: { shift?: boolean; toggle?: boolean }): void {
    const ids = this.gridIds();
    const id = ids[index];
    if (id === undefined) return;
    let selection: Set<number>;
    if (modifiers.shift) {
      selection = new Set(this.grid.selection);
      const [from, to] = [Math.min(this.anchor, index), Math.max(this.anchor, index)];
      for (let i = from; i <= to; i++) if (ids[i] !== undefined) selection.add(ids[i]!);
    } else if (modifiers.toggle) {
      selection = new Set(this.grid.selection);
      if (selection.has(id)) selection.delete(id);
      else selection.add(id);
      this.anchor = index;
    } else {
      selection = new Set([id]);
      this.anchor = index;
    }
    this.grid = { ...this.grid, cursor: index, selection };
    this.emit();
  }

  private anchor = 0;

  /** Arrow keys: the cursor moves; with shift, the selection follows it from the anchor. */
  moveCursor(dx: number, dy: number, extend: boolean): void {
    const ids = this.gridIds();
    if (ids.length === 0) return;
    const columns = Math.max(1, this.grid.columns);
    const cursor = Math.max(0, Math.min(ids.length - 1, this.grid.cursor + dx + dy * columns));
    let selection: ReadonlySet<number> = this.grid.selection;
    if (extend) {
      const next = new Set<number>();
      const [from, to] = [Math.min(this.anchor, cursor), Math.max(this.anchor, cursor)];
      for (let i = from; i <= to; i++) if (ids[i] !== undefined) next.add(ids[i]!);
      selection = next;
    } else {
      this.anchor = cursor;
    }
    this.grid = { ...this.grid, cursor, selection };
    this.emit();
  }

  toggleSelect(): void {
    const id = this.gridIds()[this.grid.cursor];
    if (id === undefined) return;
    const selection = new Set(this.grid.selection);
    if (selection.has(id)) selection.delete(id);
    else selection.add(id);
    this.anchor = this.grid.cursor;
    this.grid = { ...this.grid, selection };
    this.emit();
  }

  selectAll(): void {
    this.grid = { ...this.grid, selection: new Set(this.gridIds().filter((id): id is number => id !== undefined)) };
    this.emit();
  }

  clearSelection(): boolean {
    if (this.grid.selection.size === 0) return false;
    this.grid = { ...this.grid, selection: new Set() };
    this.emit();
    return true;
  }

  /** The items a grid command applies to: the selection, or the item under the cursor. */
  private targets(): number[] {
    if (this.grid.selection.size > 0) return this.gridIds().filter((id): id is number => id !== undefined && this.grid.selection.has(id));
    const id = this.gridIds()[this.grid.cursor];
    return id === undefined ? [] : [id];
  }

  /**
   * A class key in the grid. Page mode: marks the selected odd ones out as that class (the page's own class
   * takes the mark off); they are saved with the page. Browse mode: labels the selection now, as one batch.
   */
  gridLabel(label: string): void {
    const targets = this.targets();
    if (targets.length === 0) return;
    if (this.grid.mode === 'page') {
      const corrections = new Map(this.grid.corrections);
      const leftOut = new Set(this.grid.leftOut);
      for (const id of targets) {
        leftOut.delete(id);
        if (label === this.grid.page?.label) corrections.delete(id);
        else corrections.set(id, label);
      }
      this.grid = { ...this.grid, corrections, leftOut, selection: new Set() };
      this.announcement = `${targets.length} marked ${label}`;
      return this.emit();
    }
    this.labelMany(targets, label, []);
  }

  /** `?` in a page: the selection stays out of it (not labeled now). */
  gridLeaveOut(): void {
    if (this.grid.mode !== 'page') return;
    const targets = this.targets();
    const leftOut = new Set(this.grid.leftOut);
    const all = targets.every((id) => leftOut.has(id));
    for (const id of targets) {
      if (all) leftOut.delete(id);
      else leftOut.add(id);
    }
    this.grid = { ...this.grid, leftOut, selection: new Set() };
    this.announcement = `${targets.length} ${all ? 'back in the page' : 'left out of the page'}`;
    this.emit();
  }

  /**
   * Enter in a page: every item not left out gets the page's class or its correction, as one undoable batch;
   * the next page is asked for at once.
   */
  acceptPage(): void {
    const page = this.grid.page;
    if (this.grid.mode !== 'page' || !page || this.grid.loading) return;
    const ids = page.ids.filter((id) => !this.grid.leftOut.has(id));
    if (ids.length === 0) return this.requestPage();
    const chosen = new Map(ids.map((id) => [id, this.grid.corrections.get(id) ?? page.label]));
    const unlabeled = ids.filter((id) => !chosen.get(id));
    if (unlabeled.length > 0) {
      this.toast('info', `Choose a class for ${unlabeled.length} item${unlabeled.length === 1 ? '' : 's'} first (select them, then press a class key; Ctrl/⌘+A selects all).`);
      return this.emit();
    }
    const counts = new Map<string, number>();
    for (const label of chosen.values()) counts.set(label!, (counts.get(label!) ?? 0) + 1);
    const label = page.label ?? [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const corrections = ids.filter((id) => chosen.get(id) !== label).map((id) => ({ itemId: id, label: chosen.get(id)! }));
    const saved = { page, corrections: new Map(this.grid.corrections), leftOut: new Set(this.grid.leftOut) };
    this.labelMany(ids, label, corrections, saved);
    this.requestPage();
  }

  private labelMany(ids: number[], label: string, corrections: { itemId: number; label: string }[], page?: HistoryEntry['page']): void {
    const before = ids.map((id) => this.items.get(id)).filter((view): view is ItemView => view !== undefined);
    const fixed = new Map(corrections.map((c) => [c.itemId, c.label]));
    const requestId = this.send({ type: 'accept_page', label, itemIds: ids, ...(corrections.length ? { corrections } : {}) }, (reply) => {
      for (const id of ids) {
        if (this.pendingItems.get(id) === requestId) {
          this.pendingItems.delete(id);
          this.pendingLabelCount--;
        }
      }
      if (reply.type === 'ack') {
        this.applyViews(reply.items ?? []);
        const done = new Set(ids);
        this.serverQueue = this.serverQueue.filter((id) => !done.has(id));
        this.scheduleStats();
      } else if (reply.type === 'refused') {
        this.history = this.history.filter((entry) => entry.requestId !== requestId);
        for (const view of before) this.items.set(view.id, view);
        if (page && this.grid.mode === 'page') this.grid = { ...this.grid, page: page.page, corrections: page.corrections, leftOut: page.leftOut, loading: false };
        this.toast('error', `Not saved — ${ids.length} items as ${label}: ${reply.reason}`);
      }
    });
    // Shown labeled at once (the browse grid keeps them in place); hidden from the focus queue until confirmed.
    for (const view of before) this.items.set(view.id, { ...view, label: fixed.get(view.id) ?? label, labelSource: 'human', labeledBy: this.user, suggestion: null });
    for (const id of ids) {
      this.pendingItems.set(id, requestId);
      this.pendingLabelCount++;
    }
    this.history.push({ requestId, kind: 'accept_page', before, page });
    this.grid = { ...this.grid, selection: new Set() };
    this.announcement = `${ids.length} items labeled ${label}${corrections.length ? `, ${corrections.length} corrected` : ''}`;
    this.emit();
  }

  // ---- classes, ranker, stats ----------------------------------------------------------------------------

  addClass(name: string, key?: string): void {
    const clean = name.trim();
    if (!clean) return;
    if (this.classes.some((c) => c.name === clean)) {
      this.toast('info', `The class ${clean} is there already.`);
      return this.emit();
    }
    const before = this.classes;
    this.classes = [...this.classes, { name: clean, key: key ?? null, count: 0 }];
    this.send({ type: 'add_class', name: clean, ...(key ? { key } : {}) }, (reply) => {
      if (reply.type === 'refused') {
        this.classes = before;
        this.toast('error', `Class not added: ${reply.reason}`);
      }
    });
    this.announcement = `class ${clean} added`;
    this.emit();
  }

  setRanker(name: string): void {
    const before = this.ranker;
    this.ranker = name;
    this.send({ type: 'set_ranker', ranker: name }, (reply) => {
      if (reply.type === 'refused') {
        this.ranker = before;
        this.toast('error', `Ranker not changed: ${reply.reason}`);
      }
    });
    this.emit();
  }

  requestStats(): void {
    this.statsAskedAt = Date.now();
    this.connection.request({ type: 'stats' }, ({ message }) => {
      if (message.type !== 'stats') return;
      this.stats = message.stats;
      this.emit();
    });
  }

  /** Stats after actions, at most once a second (trailing), so the counts follow the labels. */
  private scheduleStats(): void {
    if (this.statsTimer) return;
    const wait = Math.max(0, STATS_EVERY_MS - (Date.now() - this.statsAskedAt));
    this.statsTimer = this.later(wait, () => {
      this.statsTimer = undefined;
      this.requestStats();
    });
  }

  // ---- small UI state ------------------------------------------------------------------------------------

  toggleHelp(show = !this.help): void {
    this.help = show;
    this.emit();
  }

  /** Asks the views to put the keyboard in a text box. */
  focusText(target: TextTarget): void {
    if (target === 'filter' && this.view !== 'grid') this.view = 'grid';
    if (target === 'class') this.view = 'classes';
    if ((target === 'caption' || target === 'tags') && this.view !== 'focus') this.view = 'focus';
    this.focusRequest = { target, seq: (this.focusRequest?.seq ?? 0) + 1 };
    this.emit();
  }

  /** Esc outside text boxes: close help, else clear the selection, else back to focus. */
  escape(): void {
    if (this.help) return this.toggleHelp(false);
    if (this.view === 'grid' && this.clearSelection()) return;
    if (this.view === 'classes' || this.view === 'stats') this.setView('focus');
  }

  toast(kind: Toast['kind'], text: string): void {
    const toast = { id: this.nextToastId++, kind, text };
    this.toasts = [...this.toasts.slice(-3), toast];
    this.later(TOAST_MS[kind], () => this.dismiss(toast.id));
  }

  dismiss(id: number): void {
    const before = this.toasts.length;
    this.toasts = this.toasts.filter((toast) => toast.id !== id);
    if (this.toasts.length !== before) this.emit();
  }

  private later(ms: number, run: () => void): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.listeners.clear();
  }
}

function emptyGrid(filterText: string): GridSnapshot {
  const filter = parseFilter(filterText);
  return {
    mode: filter ? 'browse' : 'page',
    filterText,
    filter,
    page: null,
    loading: false,
    browseIds: [],
    cursor: 0,
    selection: new Set(),
    corrections: new Map(),
    leftOut: new Set(),
    columns: 1,
  };
}

/** An item as a person reads it in a message: its file name. */
export function shortName(item: ItemView): string {
  return item.uri.split('/').pop() ?? `item ${item.id}`;
}
