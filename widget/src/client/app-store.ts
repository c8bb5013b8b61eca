import type { ClassView, ItemView, SessionStats, TextModelState, VlmStateView } from '../../../src/session/protocol';
import { CaptionSuggestions, type CaptionSuggestion } from './caption-suggestions';
import { Connection } from './connection';
import { parseSearch } from './filter';
import { FocusQueue, type BulkEdit } from './focus-queue';
import { Grid, type GridSnapshot } from './grid';
import type { ViewName } from './keymap';
import { Neighbors } from './neighbors';
import { Notices, shortName, type TaskProgress, type Toast } from './notices';
import { SessionInfo } from './session-info';
import type { Incoming, LinkState, SessionConnection } from './session-client';

export interface UiState {
  view: ViewName;
  filterText: string;
  /** The item on screen in focus, so a reloaded page comes back to it. */
  focus?: number;
}

export type TextTarget = 'caption' | 'tags' | 'filter' | 'search' | 'class';

export interface AppSnapshot {
  status: 'connecting' | 'ready';
  /** The link to the engine: `reconnecting` or `offline` while the standalone page's socket is lost. */
  connection: LinkState;
  user: string;
  dataset: string;
  classes: readonly ClassView[];
  ranker: string;
  rankers: readonly { name: string; summary: string }[];
  stats: SessionStats | null;
  /** The text model behind search and caption suggestions (null: the engine has no text search). */
  textModel: TextModelState | null;
  /** The VLM assist (null: the engine has none). */
  vlm: VlmStateView | null;
  /** Captions from similar images, per item, for the caption editor. */
  captionSuggestions: ReadonlyMap<number, readonly CaptionSuggestion[]>;
  /** The items to show, current first: the engine's queue with this client's optimistic actions applied. */
  queue: readonly ItemView[];
  items: ReadonlyMap<number, ItemView>;
  view: ViewName;
  grid: GridSnapshot;
  toasts: readonly Toast[];
  neighbors: ReadonlyMap<number, readonly ItemView[]>;
  progress: ReadonlyMap<string, TaskProgress>;
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

/**
 * The app's state and every action, speaking only the session protocol. Each part owns its own state: the
 * connection, the session's classes and stats, the focus queue with its optimistic actions and undo, the grid,
 * the neighbours, the notices; this store routes actions and pushed messages to them, keeps which view is on
 * screen, and after each change builds the one snapshot React subscribes to with useSyncExternalStore. No DOM
 * in here, so it is tested against a real engine session without a browser.
 *
 * @example
 * const store = new AppStore(new SessionClient(model));
 * store.start();
 * store.labelCurrent('cat');
 */
export class AppStore {
  private readonly connection: Connection;
  private readonly notices: Notices;
  private readonly session: SessionInfo;
  private readonly focus: FocusQueue;
  private readonly grid: Grid;
  private readonly neighbors: Neighbors;
  private readonly captionSuggestions: CaptionSuggestions;
  private view: ViewName;
  private help = false;
  private focusRequest: AppSnapshot['focusRequest'] = null;
  private focusClaimed = 0;
  private readonly listeners = new Set<() => void>();
  private snapshot: AppSnapshot;
  private lastUi = '';
  private closed = false;

  constructor(
    transport: SessionConnection,
    private readonly options: AppOptions = {},
  ) {
    const changed = () => this.emit();
    this.connection = new Connection(transport, changed);
    this.notices = new Notices(changed);
    this.session = new SessionInfo(this.connection, this.notices);
    this.focus = new FocusQueue(this.connection, this.notices, () => this.session.scheduleStats());
    this.grid = new Grid(this.connection, this.notices, this.focus, options.pageSize ?? 40, options.ui?.filterText ?? '');
    this.neighbors = new Neighbors(this.connection, (views) => this.focus.applyViews(views));
    this.captionSuggestions = new CaptionSuggestions(this.connection);
    this.view = options.ui?.view ?? 'focus';
    this.connection.onPush((incoming) => this.onPush(incoming));
    this.snapshot = this.build();
  }

  // ---- the snapshot (React's useSyncExternalStore) -------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): AppSnapshot => this.snapshot;

  private emit(): void {
    if (this.closed) return;
    this.snapshot = this.build();
    for (const listener of this.listeners) listener();
    const ui: UiState = { view: this.view, filterText: this.snapshot.grid.filterText, focus: this.snapshot.queue[0]?.id };
    const key = JSON.stringify(ui);
    if (key !== this.lastUi) {
      this.lastUi = key;
      this.options.onUiChange?.(ui);
    }
  }

  private build(): AppSnapshot {
    return {
      status: this.connection.status,
      connection: this.connection.link,
      user: this.connection.user,
      dataset: this.connection.dataset,
      classes: this.session.classes,
      ranker: this.session.ranker,
      rankers: this.session.rankers,
      stats: this.session.stats,
      textModel: this.session.textModel,
      vlm: this.session.vlm,
      captionSuggestions: this.captionSuggestions.all,
      queue: this.focus.queue(),
      items: this.focus.items,
      view: this.view,
      grid: this.grid.state,
      toasts: this.notices.toasts,
      neighbors: this.neighbors.all,
      progress: this.notices.progress,
      help: this.help,
      pending: this.connection.pending,
      pendingLabels: this.focus.pendingLabels,
      announcement: this.notices.announcement,
      focusRequest: this.focusRequest,
    };
  }

  /** Runs an action of a part, then shows its outcome. */
  private act(action: () => unknown): void {
    action();
    this.emit();
  }

  // ---- the connection ------------------------------------------------------------------------------------

  /** Says hello: the engine answers with classes and stats, then the queue. */
  start(): void {
    const { user, prefetch, ui } = this.options;
    const hello = { type: 'hello', ...(user ? { user } : {}), ...(prefetch ? { prefetch } : {}), ...(ui?.focus !== undefined ? { focus: ui.focus } : {}) } as const;
    // After a reconnect: the same user, the item on screen now first.
    const again = () => {
      const focus = this.focus.queue()[0]?.id;
      return { type: 'hello', ...(user ? { user } : {}), ...(prefetch ? { prefetch } : {}), ...(focus !== undefined ? { focus } : {}) } as const;
    };
    this.connection.hello(hello, (message) => {
      if (message.type === 'welcome') {
        this.session.welcome(message);
        if (this.view === 'grid') this.grid.enter();
      } else if (message.type === 'refused') {
        this.notices.toast('error', `The session refused to start: ${message.reason}`);
      }
    }, again);
  }

  /** What the engine sends unasked, each to the part that owns it. */
  private onPush({ message }: Incoming): void {
    switch (message.type) {
      case 'queue':
        this.focus.takeQueue(message.items);
        this.session.heardRanker(message.ranker);
        break;
      case 'classes':
        this.session.heardClasses(message.classes);
        break;
      case 'items':
        this.focus.applyViews(message.items);
        break;
      case 'stats':
        this.session.heardStats(message.stats);
        break;
      case 'text_model':
        this.session.heardTextModel(message.state);
        if (message.state.status === 'ready') this.captionSuggestions.forget();
        break;
      case 'vlm':
        this.session.heardVlm(message.state);
        break;
      case 'progress':
        this.notices.taskProgress(message.task, message.done, message.total);
        break;
      case 'refused':
        this.notices.toast('error', message.reason);
        break;
      default:
        return;
    }
    this.emit();
  }

  // ---- focus: the current item, captions and tags, undo ------------------------------------------------

  labelCurrent(label: string): void {
    this.act(() => this.focus.label(label));
  }

  /** Enter: the suggestion as is. */
  acceptCurrent(): void {
    this.act(() => this.focus.accept());
  }

  skipCurrent(): void {
    this.act(() => this.focus.skip());
  }

  dontKnowCurrent(): void {
    this.act(() => this.focus.dontKnow());
  }

  setCaption(itemId: number, caption: string | null): void {
    this.act(() => this.focus.setCaption(itemId, caption));
  }

  setTags(itemId: number, tags: string[]): void {
    this.act(() => this.focus.setTags(itemId, tags));
  }

  /** Takes back this user's last action (a grid page too): shown at once, confirmed by the engine. */
  undo(): void {
    this.act(() => this.focus.undo());
  }

  redo(): void {
    this.act(() => this.focus.redo());
  }

  /** Asks once for the labeled items nearest to an item (the strip under the focus image). */
  wantNeighbors(itemId: number): void {
    if (this.session.stats?.hasEmbeddings) this.neighbors.want(itemId);
  }

  /** Turns down the VLM's label of an item (default: the one in focus), or one of its caption drafts. */
  rejectVlm(itemId?: number, caption?: string): void {
    const id = itemId ?? this.focus.queue()[0]?.id;
    if (id !== undefined) this.act(() => this.focus.rejectVlm(id, caption));
  }

  /** Asks once for captions of similar images, when the text model can answer. */
  wantCaptionSuggestions(itemId: number): void {
    if (this.session.textModel?.status === 'ready') this.captionSuggestions.want(itemId);
  }

  // ---- finding by meaning --------------------------------------------------------------------------------

  /**
   * The search box: items described by the text (the text model's joint space), narrowed by filter words in
   * the same query (`unlabeled`, `label:x`, `tag:x`, `split:x`), shown in the grid best first.
   */
  search(input: string): void {
    const { text, filter } = parseSearch(input);
    if (!text) return this.act(() => this.notices.toast('info', 'Type what to look for, e.g. “a dog asleep on a sofa” (filter words may go with it: unlabeled, label:cat, tag:x).'));
    this.view = 'grid';
    this.act(() => this.grid.find({ kind: 'text', text, filter }));
  }

  /** "More like this": the items whose images are nearest to one item's (the item in focus, or under the grid's cursor). */
  moreLikeThis(itemId?: number): void {
    const id = itemId ?? (this.view === 'grid' ? this.grid.ids()[this.grid.state.cursor] : this.focus.queue()[0]?.id);
    const item = id === undefined ? undefined : this.focus.items.get(id);
    if (!item) return this.act(() => this.notices.toast('info', 'No item to find others like.'));
    if (!this.session.stats?.hasEmbeddings) return this.act(() => this.notices.toast('info', 'No embeddings yet: images like this one are found once the dataset is embedded.'));
    this.view = 'grid';
    this.act(() => this.grid.find({ kind: 'similar', itemId: item.id, name: shortName(item) }));
  }

  /** Tags or a caption for the grid's selection (or the item under its cursor), as one undoable batch. */
  editSelection(edit: BulkEdit): void {
    this.act(() => this.grid.edit(edit));
  }

  // ---- grid ----------------------------------------------------------------------------------------------

  toggleGrid(): void {
    this.setView(this.view === 'grid' ? 'focus' : 'grid');
  }

  /** The model's next page of items it believes share one class (optionally a given class). */
  requestPage(label?: string): void {
    this.act(() => this.grid.requestPage(label));
  }

  /** The filter box: a filter lists all matching items; an empty one goes back to the model's pages. */
  setFilter(text: string): void {
    this.view = 'grid';
    this.act(() => this.grid.setFilter(text));
  }

  /** Browse: makes sure the items at these indexes are loaded (the grid asks for what is on screen). */
  ensureBrowsed(start: number, end: number): void {
    this.grid.ensureBrowsed(start, end);
  }

  setColumns(columns: number): void {
    if (this.grid.setColumns(columns)) this.emit();
  }

  /** Clicks: plain selects one, shift extends from the anchor, ctrl/cmd toggles. */
  clickCell(index: number, modifiers: { shift?: boolean; toggle?: boolean }): void {
    this.act(() => this.grid.clickCell(index, modifiers));
  }

  /** Arrow keys: the cursor moves; with shift, the selection follows it from the anchor. */
  moveCursor(dx: number, dy: number, extend: boolean): void {
    this.act(() => this.grid.moveCursor(dx, dy, extend));
  }

  toggleSelect(): void {
    this.act(() => this.grid.toggleSelect());
  }

  selectAll(): void {
    this.act(() => this.grid.selectAll());
  }

  clearSelection(): boolean {
    if (!this.grid.clearSelection()) return false;
    this.emit();
    return true;
  }

  /** A class key in the grid: marks the odd ones out of a page, or labels a browse selection at once. */
  gridLabel(label: string): void {
    this.act(() => this.grid.label(label));
  }

  /** `?` in a page: the selection stays out of it (not labeled now). */
  gridLeaveOut(): void {
    this.act(() => this.grid.leaveOut());
  }

  /** Enter in a page: the page labeled as one undoable batch, and the next page asked for. */
  acceptPage(): void {
    this.act(() => this.grid.acceptPage());
  }

  // ---- classes, ranker, stats ----------------------------------------------------------------------------

  addClass(name: string, key?: string): void {
    this.act(() => this.session.addClass(name, key));
  }

  setRanker(name: string): void {
    this.act(() => this.session.setRanker(name));
  }

  requestStats(): void {
    this.session.requestStats();
  }

  // ---- views, help, notices ------------------------------------------------------------------------------

  setView(view: ViewName): void {
    if (view === this.view) return;
    this.view = view;
    this.help = false;
    if (view === 'grid') this.grid.enter();
    if (view === 'stats') this.session.requestStats();
    this.emit();
  }

  toggleHelp(show = !this.help): void {
    this.help = show;
    this.emit();
  }

  /** Asks the views to put the keyboard in a text box. */
  focusText(target: TextTarget): void {
    if (target === 'filter' || target === 'search') this.view = 'grid';
    if (target === 'class') this.view = 'classes';
    // In the grid, caption and tags go to the selection's boxes; elsewhere, to the item in focus.
    if ((target === 'caption' || target === 'tags') && this.view !== 'grid') this.view = 'focus';
    this.focusRequest = { target, seq: (this.focusRequest?.seq ?? 0) + 1 };
    this.emit();
  }

  /** A text box takes a focus request: true the first time only (see useFocusRequest). */
  claimFocus(seq: number): boolean {
    if (seq <= this.focusClaimed) return false;
    this.focusClaimed = seq;
    return true;
  }

  /** Esc outside text boxes: close help, else clear the selection, else back to focus. */
  escape(): void {
    if (this.help) return this.toggleHelp(false);
    if (this.view === 'grid' && this.clearSelection()) return;
    if (this.view === 'classes' || this.view === 'stats') this.setView('focus');
  }

  dismiss(id: number): void {
    this.notices.dismiss(id);
  }

  close(): void {
    this.closed = true;
    this.notices.close();
    this.session.close();
    this.listeners.clear();
  }
}
