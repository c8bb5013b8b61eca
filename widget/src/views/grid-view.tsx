import { memo, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { ItemView } from '../../../src/session/protocol';
import { shortName } from '../client/notices';
import { PRIORITY, sizeBucket } from '../client/image-loader';
import { useApp, useServices } from './app-context';
import { Thumb } from './item-image';

const CELL = 128;
const GAP = 8;
const CAPTION = 20;
const ROW = CELL + CAPTION + GAP;
/** Rows rendered above and below the visible ones, so a fast scroll shows cells already there. */
const OVERSCAN = 3;

/**
 * Many thumbnails, virtualised: only the rows on screen (and a few around) exist in the DOM, so ten thousand
 * items scroll like forty. Two modes: the model's page of items it believes share one class (fix the odd ones
 * out, Enter accepts the page), or every item matching the filter (select, then a class key labels them).
 */
export function GridView() {
  const app = useApp();
  const { store } = useServices();
  const grid = app.grid;
  const ids = grid.mode === 'page' ? (grid.page?.ids ?? []) : grid.browseIds;
  const scroller = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState({ top: 0, width: 800, height: 600 });
  const frame = useRef(0);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const measure = () => setViewport({ top: element.scrollTop, width: element.clientWidth, height: element.clientHeight });
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => {
      observer.disconnect();
      cancelAnimationFrame(frame.current);
    };
  }, []);

  const columns = Math.max(1, Math.floor((viewport.width + GAP) / (CELL + GAP)));
  useEffect(() => store.setColumns(columns), [store, columns]);
  const rows = Math.ceil(ids.length / columns);
  const firstRow = Math.max(0, Math.floor(viewport.top / ROW) - OVERSCAN);
  const lastRow = Math.min(rows, Math.ceil((viewport.top + viewport.height) / ROW) + OVERSCAN);

  useEffect(() => {
    store.ensureBrowsed(firstRow * columns, lastRow * columns);
  }, [store, firstRow, lastRow, columns, grid.mode, ids.length]);

  // Scrolls are read once a frame: one render per painted frame at most.
  const onScroll = () => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      const element = scroller.current;
      if (element) setViewport((current) => (current.top === element.scrollTop ? current : { ...current, top: element.scrollTop }));
    });
  };

  // The keyboard cursor stays on screen.
  useEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const top = Math.floor(grid.cursor / columns) * ROW;
    if (top < element.scrollTop) element.scrollTop = top;
    else if (top + ROW > element.scrollTop + element.clientHeight) element.scrollTop = top + ROW - element.clientHeight;
  }, [grid.cursor, columns]);

  // A new page or filter starts at the top.
  const listKey = grid.mode === 'page' ? `page:${grid.page?.ids[0] ?? ''}` : `browse:${grid.filterText}`;
  useEffect(() => {
    if (scroller.current) scroller.current.scrollTop = 0;
  }, [listKey]);

  const size = sizeBucket(CELL * (window.devicePixelRatio || 1));
  const rowElements = [];
  for (let row = firstRow; row < lastRow; row++) {
    const cells = [];
    for (let column = 0; column < columns; column++) {
      const index = row * columns + column;
      if (index >= ids.length) break;
      const id = ids[index];
      const item = id === undefined ? undefined : app.items.get(id);
      cells.push(
        <Cell
          key={id ?? `empty-${index}`}
          index={index}
          column={column}
          item={item}
          size={size}
          mode={grid.mode}
          pageLabel={grid.page?.label ?? null}
          selected={id !== undefined && grid.selection.has(id)}
          cursor={index === grid.cursor}
          correction={id === undefined ? undefined : grid.corrections.get(id)}
          leftOut={id !== undefined && grid.leftOut.has(id)}
        />,
      );
    }
    rowElements.push(
      <div key={row} role="row" aria-rowindex={row + 1} className="qs-grid-row" style={{ transform: `translateY(${row * ROW}px)` }}>
        {cells}
      </div>,
    );
  }

  return (
    <section className="qs-grid" aria-label="Grid">
      <GridBar total={ids.length} />
      <div
        ref={scroller}
        className="qs-grid-scroll"
        onScroll={onScroll}
        role="grid"
        aria-label={grid.mode === 'page' ? `Page${grid.page?.label ? ` predicted ${grid.page.label}` : ''}` : `Items matching ${grid.filterText}`}
        aria-rowcount={rows}
        aria-colcount={columns}
        aria-multiselectable="true"
        data-mode={grid.mode}
        data-count={ids.length}
      >
        <div className="qs-grid-space" style={{ height: rows * ROW }}>
          {rowElements}
        </div>
        {grid.loading && <div className="qs-loading" role="status">Loading…</div>}
        {!grid.loading && ids.length === 0 && (
          <div className="qs-empty" role="status">
            {grid.mode === 'page' ? 'No page: nothing left that the model can group.' : `Nothing matches “${grid.filterText}”.`}
          </div>
        )}
      </div>
    </section>
  );
}

interface CellProps {
  index: number;
  column: number;
  item: ItemView | undefined;
  size: number;
  mode: 'page' | 'browse';
  pageLabel: string | null;
  selected: boolean;
  cursor: boolean;
  correction: string | undefined;
  leftOut: boolean;
}

const Cell = memo(function Cell({ index, column, item, size, mode, pageLabel, selected, cursor, correction, leftOut }: CellProps) {
  const { store } = useServices();
  const classes = ['qs-cell'];
  if (selected) classes.push('is-selected');
  if (cursor) classes.push('is-cursor');
  if (correction) classes.push('is-corrected');
  if (leftOut) classes.push('is-left-out');
  let caption: string;
  if (!item) caption = '';
  else if (mode === 'page') caption = leftOut ? 'left out' : correction ? `→ ${correction}` : (pageLabel ?? item.suggestion?.label ?? '?');
  else caption = item.label ?? (item.suggestion ? `${item.suggestion.label}?` : '');
  return (
    <div
      role="gridcell"
      aria-colindex={column + 1}
      aria-selected={selected}
      aria-label={item ? `${shortName(item)}${caption ? `: ${caption}` : ''}` : 'loading'}
      className={classes.join(' ')}
      style={{ transform: `translateX(${column * (CELL + GAP)}px)`, width: CELL }}
      data-item-id={item?.id}
      onMouseDown={(event) => event.shiftKey && event.preventDefault()}
      onClick={(event) => store.clickCell(index, { shift: event.shiftKey, toggle: event.ctrlKey || event.metaKey })}
    >
      <div className="qs-cell-image" style={{ height: CELL }}>
        {item ? <Thumb item={item} size={size} priority={PRIORITY.visible} alt="" /> : <div className="qs-thumb-wait" aria-hidden="true" />}
      </div>
      <div className={item?.labelSource === 'human' && mode === 'browse' ? 'qs-cell-caption is-labeled' : 'qs-cell-caption'}>{caption}</div>
    </div>
  );
});

function GridBar({ total }: { total: number }) {
  const app = useApp();
  const { store } = useServices();
  const grid = app.grid;
  const [draft, setDraft] = useState(grid.filterText);
  const box = useRef<HTMLInputElement>(null);
  useEffect(() => setDraft(grid.filterText), [grid.filterText]);
  useEffect(() => {
    if (app.focusRequest?.target === 'filter') {
      box.current?.focus();
      box.current?.select();
    }
  }, [app.focusRequest]);

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      store.setFilter(draft);
      box.current?.blur();
      (box.current?.closest('.qs-app') as HTMLElement | null)?.focus({ preventScroll: true });
    } else if (event.key === 'Escape') {
      setDraft(grid.filterText);
    }
  };

  return (
    <div className="qs-grid-bar">
      <label className="qs-filter">
        <kbd>/</kbd>
        <input ref={box} aria-label="Filter the grid" placeholder="filter: unlabeled, label:cat, tag:x, captioned, part of a path — empty: the model's pages" value={draft} onChange={(event) => setDraft(event.target.value)} onKeyDown={onKeyDown} />
      </label>
      {grid.mode === 'page' ? (
        <>
          <span className="qs-grid-info" aria-live="polite">
            {grid.page ? `${total} items${grid.page.label ? ` predicted ${grid.page.label}` : ' (no prediction: give each a class)'}` : 'loading a page…'}
            {grid.corrections.size > 0 && ` · ${grid.corrections.size} corrected`}
            {grid.leftOut.size > 0 && ` · ${grid.leftOut.size} left out`}
            {grid.selection.size > 0 && ` · ${grid.selection.size} selected`}
          </span>
          <button type="button" tabIndex={-1} className="qs-button is-primary" onClick={() => store.acceptPage()} disabled={!grid.page || total === 0}>
            Accept page <kbd>Enter</kbd>
          </button>
          <button type="button" tabIndex={-1} className="qs-button" onClick={() => store.requestPage()}>
            Next page
          </button>
        </>
      ) : (
        <span className="qs-grid-info" aria-live="polite">
          {`${total.toLocaleString()} items`}
          {grid.selection.size > 0 ? ` · ${grid.selection.size} selected: press a class key` : ' · select, then press a class key'}
        </span>
      )}
    </div>
  );
}
