/** The part of the grid's state the cursor moves and the selection it makes. */
export interface CursorState {
  cursor: number;
  selection: ReadonlySet<number>;
  columns: number;
}

type Ids = readonly (number | undefined)[];

/**
 * The grid's keyboard cursor and its selection over whatever the grid lists (item ids in order, undefined
 * where not loaded yet). It remembers only where a shift-selection starts; each method returns the change.
 */
export class GridCursor {
  /** Where a shift-click or shift-arrow selection starts. */
  private anchor = 0;

  /** Plain selects one, shift extends from the anchor, ctrl/cmd toggles. */
  click(ids: Ids, state: CursorState, index: number, modifiers: { shift?: boolean; toggle?: boolean }): Partial<CursorState> {
    const id = ids[index];
    if (id === undefined) return {};
    let selection: Set<number>;
    if (modifiers.shift) {
      selection = new Set([...state.selection, ...span(ids, this.anchor, index)]);
    } else if (modifiers.toggle) {
      selection = toggled(state.selection, id);
      this.anchor = index;
    } else {
      selection = new Set([id]);
      this.anchor = index;
    }
    return { cursor: index, selection };
  }

  /** The cursor moves; with `extend`, the selection follows it from the anchor. */
  move(ids: Ids, state: CursorState, dx: number, dy: number, extend: boolean): Partial<CursorState> {
    if (ids.length === 0) return {};
    const columns = Math.max(1, state.columns);
    const cursor = Math.max(0, Math.min(ids.length - 1, state.cursor + dx + dy * columns));
    if (!extend) {
      this.anchor = cursor;
      return { cursor };
    }
    return { cursor, selection: new Set(span(ids, this.anchor, cursor)) };
  }

  /** Space: the item under the cursor in or out of the selection. */
  toggle(ids: Ids, state: CursorState): Partial<CursorState> {
    const id = ids[state.cursor];
    if (id === undefined) return {};
    this.anchor = state.cursor;
    return { selection: toggled(state.selection, id) };
  }
}

/** The loaded item ids from one index to another, either way round. */
function span(ids: Ids, a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = Math.min(a, b); i <= Math.max(a, b); i++) if (ids[i] !== undefined) out.push(ids[i]!);
  return out;
}

function toggled(selection: ReadonlySet<number>, id: number): Set<number> {
  const next = new Set(selection);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}
