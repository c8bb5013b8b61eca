import type { BrowseFilter } from '../../../src/session/protocol';
import type { Connection } from './connection';
import { GridCursor } from './grid-cursor';
import { describeFilter, parseFilter } from './filter';
import type { BatchRestore, BulkEdit, FocusQueue } from './focus-queue';
import { askFound, describeFound, type FoundQuery } from './found';
import type { Notices } from './notices';

export interface GridPage {
  label: string | null;
  ids: number[];
}

/** Items found by meaning, best first, each with its score. */
export interface FoundItems {
  query: FoundQuery;
  /** The query as the bar says it. */
  title: string;
  ids: readonly number[];
  scores: ReadonlyMap<number, number>;
}

export interface GridSnapshot {
  /**
   * `page`: the model's page of one class, verified at a glance; `browse`: every item matching the filter;
   * `found`: the items a search in plain language or "more like this" found, best first.
   */
  mode: 'page' | 'browse' | 'found';
  filterText: string;
  filter: BrowseFilter | null;
  page: GridPage | null;
  found: FoundItems | null;
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

const BROWSE_WINDOW = 100;

/**
 * The grid: the model's page of one class to verify, or every item matching a filter loaded in windows as
 * they scroll into view; a cursor and a selection over either. Labels go through the focus queue, so undo
 * takes a page back like any other action. Its state is replaced, never changed in place (React compares it).
 */
export class Grid {
  private current: GridSnapshot;
  /** Bumped when the grid lists something else: answers for what it listed before are dropped. */
  private listGeneration = 0;
  private readonly browseRequested = new Set<number>();
  private readonly cursor = new GridCursor();

  constructor(
    private readonly connection: Connection,
    private readonly notices: Notices,
    private readonly focus: FocusQueue,
    private readonly pageSize: number,
    filterText: string,
  ) {
    this.current = emptyGrid(filterText);
  }

  get state(): GridSnapshot {
    return this.current;
  }

  /** The grid comes on screen: loads what it shows, unless it has it or is loading it. */
  enter(): void {
    if (this.current.mode === 'browse') {
      if (this.current.browseIds.length === 0 && !this.current.loading) this.loadBrowse(0, BROWSE_WINDOW);
    } else if (!this.current.page && !this.current.loading) {
      this.requestPage();
    }
  }

  /** The model's next page of items it believes share one class (optionally a given class). */
  requestPage(label?: string): void {
    this.update({ mode: 'page', page: null, loading: true, selection: new Set(), corrections: new Map(), leftOut: new Set(), cursor: 0 });
    this.connection.send({ type: 'page', size: this.pageSize, ...(label ? { label } : {}) }, (reply) => {
      if (reply.type === 'page') {
        this.focus.applyViews(reply.items);
        this.update({ page: { label: reply.label, ids: reply.items.map((item) => item.id) }, loading: false, cursor: 0, selection: new Set() });
        this.notices.announce(reply.items.length === 0 ? 'no page: nothing left to label' : `page of ${reply.items.length} items${reply.label ? ` predicted ${reply.label}` : ''}`);
      } else if (reply.type === 'refused') {
        this.update({ loading: false });
        this.notices.toast('error', `No page: ${reply.reason}`);
      }
    });
  }

  /** The filter box: a filter lists all matching items; an empty one goes back to the model's pages. */
  setFilter(text: string): void {
    const filter = parseFilter(text);
    this.listGeneration++;
    this.browseRequested.clear();
    if (!filter) {
      this.current = { ...emptyGrid(''), columns: this.current.columns };
      return this.requestPage();
    }
    this.current = { ...emptyGrid(describeFilter(filter)), mode: 'browse', filter, columns: this.current.columns, loading: true };
    this.loadBrowse(0, BROWSE_WINDOW);
  }

  /** Shows what a query finds (a search, "more like this"): labeled, tagged, captioned like a filtered list. */
  find(query: FoundQuery): void {
    const generation = ++this.listGeneration;
    this.browseRequested.clear();
    const title = describeFound(query);
    this.current = { ...emptyGrid(''), mode: 'found', found: { query, title, ids: [], scores: new Map() }, columns: this.current.columns, loading: true };
    askFound(
      this.connection,
      query,
      ({ ids, scores, views }) => {
        if (generation !== this.listGeneration) return;
        this.focus.applyViews(views);
        this.update({ found: { query, title, ids, scores }, loading: false });
        this.notices.announce(`${ids.length} items found ${title}`);
      },
      (reason) => {
        if (generation !== this.listGeneration) return;
        this.update({ loading: false });
        this.notices.toast('error', `Nothing found ${title}: ${reason}`);
      },
    );
  }

  /** Browse: makes sure the items at these indexes are loaded (the grid asks for what is on screen). */
  ensureBrowsed(start: number, end: number): void {
    if (this.current.mode !== 'browse') return;
    const last = Math.min(end, this.current.browseIds.length);
    for (let window = Math.floor(Math.max(0, start) / BROWSE_WINDOW) * BROWSE_WINDOW; window < last; window += BROWSE_WINDOW) {
      if (!this.browseRequested.has(window)) this.loadBrowse(window, BROWSE_WINDOW);
    }
  }

  private loadBrowse(offset: number, limit: number): void {
    const generation = this.listGeneration;
    this.browseRequested.add(offset);
    this.connection.ask({ type: 'browse', offset, limit, ...(this.current.filter ? { filter: this.current.filter } : {}) }, (message) => {
      if (generation !== this.listGeneration) return; // an answer for a filter no longer shown
      if (message.type === 'browse') {
        this.focus.applyViews(message.items);
        const known = this.current.browseIds;
        const ids = known.length === message.total ? [...known] : Array.from({ length: message.total }, (_, i) => known[i]);
        message.items.forEach((item, index) => (ids[message.offset + index] = item.id));
        this.update({ browseIds: ids, loading: false });
        if (offset === 0) this.notices.announce(`${message.total} items match ${this.current.filterText}`);
      } else if (message.type === 'refused') {
        this.browseRequested.delete(offset);
        this.update({ loading: false });
        this.notices.toast('error', `Filter failed: ${message.reason}`);
      }
    });
  }

  /** The item ids the grid shows, in order (browse: undefined where not loaded yet). */
  ids(): readonly (number | undefined)[] {
    const { mode, page, found, browseIds } = this.current;
    return mode === 'page' ? (page?.ids ?? []) : mode === 'found' ? (found?.ids ?? []) : browseIds;
  }

  /** True when the number of columns changed. */
  setColumns(columns: number): boolean {
    if (columns === this.current.columns || columns <= 0) return false;
    this.update({ columns });
    return true;
  }

  /** Clicks: plain selects one, shift extends from the anchor, ctrl/cmd toggles. */
  clickCell(index: number, modifiers: { shift?: boolean; toggle?: boolean }): void {
    this.update(this.cursor.click(this.ids(), this.current, index, modifiers));
  }

  /** Arrow keys: the cursor moves; with shift, the selection follows it from the anchor. */
  moveCursor(dx: number, dy: number, extend: boolean): void {
    this.update(this.cursor.move(this.ids(), this.current, dx, dy, extend));
  }

  toggleSelect(): void {
    this.update(this.cursor.toggle(this.ids(), this.current));
  }

  selectAll(): void {
    this.update({ selection: new Set(this.ids().filter((id): id is number => id !== undefined)) });
  }

  /** True when there was a selection to clear. */
  clearSelection(): boolean {
    if (this.current.selection.size === 0) return false;
    this.update({ selection: new Set() });
    return true;
  }

  /**
   * A class key in the grid. Page mode: marks the selected odd ones out as that class (the page's own class
   * takes the mark off); they are saved with the page. Browse and found: labels the selection now, as one batch.
   */
  label(label: string): void {
    const targets = this.targets();
    if (targets.length === 0) return;
    if (this.current.mode !== 'page') {
      this.focus.labelMany(targets, label, []);
      return this.update({ selection: new Set() });
    }
    const corrections = new Map(this.current.corrections);
    const leftOut = new Set(this.current.leftOut);
    for (const id of targets) {
      leftOut.delete(id);
      if (label === this.current.page?.label) corrections.delete(id);
      else corrections.set(id, label);
    }
    this.update({ corrections, leftOut, selection: new Set() });
    this.notices.announce(`${targets.length} marked ${label}`);
  }

  /** Tags or a caption for the selection (or the item under the cursor), as one undoable batch. */
  edit(edit: BulkEdit): void {
    const targets = this.targets();
    if (targets.length === 0) return this.notices.toast('info', 'Select items first (click, Shift+arrows, Ctrl/⌘+A).');
    this.focus.editMany(targets, edit);
  }

  /** `?` in a page: the selection stays out of it (not labeled now). */
  leaveOut(): void {
    if (this.current.mode !== 'page') return;
    const targets = this.targets();
    const leftOut = new Set(this.current.leftOut);
    const all = targets.every((id) => leftOut.has(id));
    for (const id of targets) {
      if (all) leftOut.delete(id);
      else leftOut.add(id);
    }
    this.update({ leftOut, selection: new Set() });
    this.notices.announce(`${targets.length} ${all ? 'back in the page' : 'left out of the page'}`);
  }

  /**
   * Enter in a page: every item not left out gets the page's class or its correction, as one undoable batch;
   * the next page is asked for at once.
   */
  acceptPage(): void {
    const { page, mode, loading, leftOut, corrections } = this.current;
    if (mode !== 'page' || !page || loading) return;
    const ids = page.ids.filter((id) => !leftOut.has(id));
    if (ids.length === 0) return this.requestPage();
    const chosen = new Map(ids.map((id) => [id, corrections.get(id) ?? page.label]));
    const unlabeled = ids.filter((id) => !chosen.get(id));
    if (unlabeled.length > 0) {
      return this.notices.toast('info', `Choose a class for ${unlabeled.length} item${unlabeled.length === 1 ? '' : 's'} first (select them, then press a class key; Ctrl/⌘+A selects all).`);
    }
    const counts = new Map<string, number>();
    for (const label of chosen.values()) counts.set(label!, (counts.get(label!) ?? 0) + 1);
    const label = page.label ?? [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const fixes = ids.filter((id) => chosen.get(id) !== label).map((id) => ({ itemId: id, label: chosen.get(id)! }));
    this.focus.labelMany(ids, label, fixes, this.restorer({ page, corrections: new Map(corrections), leftOut: new Set(leftOut) }));
    this.requestPage();
  }

  /** Brings an accepted page back as it looked (undo, or the engine refused it), if the grid still shows pages. */
  private restorer(saved: Pick<GridSnapshot, 'page' | 'corrections' | 'leftOut'>): BatchRestore {
    return {
      undone: () => {
        if (this.current.mode === 'page') this.update({ ...saved, selection: new Set(), cursor: 0, loading: false });
      },
      refused: () => {
        if (this.current.mode === 'page') this.update({ ...saved, loading: false });
      },
    };
  }

  /** The items a grid command applies to: the selection, or the item under the cursor. */
  private targets(): number[] {
    const ids = this.ids();
    if (this.current.selection.size > 0) return ids.filter((id): id is number => id !== undefined && this.current.selection.has(id));
    const id = ids[this.current.cursor];
    return id === undefined ? [] : [id];
  }

  private update(change: Partial<GridSnapshot>): void {
    this.current = { ...this.current, ...change };
  }
}

function emptyGrid(filterText: string): GridSnapshot {
  const filter = parseFilter(filterText);
  return {
    mode: filter ? 'browse' : 'page',
    filterText,
    filter,
    page: null,
    found: null,
    loading: false,
    browseIds: [],
    cursor: 0,
    selection: new Set(),
    corrections: new Map(),
    leftOut: new Set(),
    columns: 1,
  };
}
