import { memo, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { ItemView } from '../../../src/session/protocol';
import { shortName } from '../client/notices';
import { PRIORITY, sizeBucket } from '../client/image-loader';
import { useApp, useServices } from './app-context';
import { GridBar } from './grid-bar';
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
  const ids = grid.mode === 'page' ? (grid.page?.ids ?? []) : grid.mode === 'found' ? (grid.found?.ids ?? []) : grid.browseIds;
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
  const listKey = grid.mode === 'page' ? `page:${grid.page?.ids[0] ?? ''}` : grid.mode === 'found' ? `found:${grid.found?.title}` : `browse:${grid.filterText}`;
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
          score={id === undefined ? undefined : grid.found?.scores.get(id)}
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
        aria-label={grid.mode === 'page' ? `Page${grid.page?.label ? ` predicted ${grid.page.label}` : ''}` : grid.mode === 'found' ? `Found ${grid.found?.title ?? ''}` : `Items matching ${grid.filterText}`}
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
            {grid.mode === 'page' ? 'No page: nothing left that the model can group.' : grid.mode === 'found' ? `Nothing found ${grid.found?.title ?? ''}.` : `Nothing matches “${grid.filterText}”.`}
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
  mode: 'page' | 'browse' | 'found';
  pageLabel: string | null;
  selected: boolean;
  cursor: boolean;
  correction: string | undefined;
  leftOut: boolean;
  /** Found items: how near the item is to the query (cosine). */
  score: number | undefined;
}

const Cell = memo(function Cell({ index, column, item, size, mode, pageLabel, selected, cursor, correction, leftOut, score }: CellProps) {
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
      <div className={item?.labelSource === 'human' && mode !== 'page' ? 'qs-cell-caption is-labeled' : 'qs-cell-caption'}>
        <span>{caption}</span>
        {score !== undefined && <span className="qs-score" title="similarity to the query (cosine)">{score.toFixed(2)}</span>}
      </div>
    </div>
  );
});
