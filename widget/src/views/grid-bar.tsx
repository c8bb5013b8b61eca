import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { TextTarget } from '../client/app-store';
import { useApp, useFocusRequest, useServices } from './app-context';

/**
 * The grid's bars: the filter and the search box, what the grid shows with its actions, and the boxes that
 * tag or caption the selection.
 */
export function GridBar({ total }: { total: number }) {
  const app = useApp();
  const { store } = useServices();
  const grid = app.grid;
  const textStatus = app.textModel?.status;
  const bulkAsked = app.focusRequest?.target === 'tags' || app.focusRequest?.target === 'caption';
  const searchHint =
    textStatus === 'ready' || textStatus === 'training'
      ? `search: a dog asleep on a sofa (with unlabeled, label:cat, tag:x)${textStatus === 'training' ? ' — a new text model is training' : ''}`
      : 'search: needs a text model (import or write captions; it trains by itself)';
  return (
    <div className="qs-grid-bars">
      <div className="qs-grid-bar">
        <TextBox
          target="filter"
          keyName="/"
          label="Filter the grid"
          placeholder="filter: unlabeled, label:cat, tag:x, captioned, part of a path — empty: the model's pages"
          value={grid.filterText}
          onSubmit={(text) => store.setFilter(text)}
        />
        <TextBox
          target="search"
          keyName="Q"
          label="Search in plain language"
          placeholder={searchHint}
          value={grid.found?.query.kind === 'text' ? grid.found.query.text : ''}
          onSubmit={(text) => store.search(text)}
        />
      </div>
      <div className="qs-grid-bar">
        <GridInfo total={total} />
      </div>
      {/* The selection's boxes: while something is selected, or when T or C asked for them. */}
      {total > 0 && (grid.selection.size > 0 || bulkAsked) && <BulkBar />}
    </div>
  );
}

function GridInfo({ total }: { total: number }) {
  const app = useApp();
  const { store } = useServices();
  const grid = app.grid;
  const selected = grid.selection.size > 0 ? ` · ${grid.selection.size} selected` : '';
  if (grid.mode === 'page') {
    return (
      <>
        <span className="qs-grid-info" aria-live="polite">
          {grid.page ? `${total} items${grid.page.label ? ` predicted ${grid.page.label}` : ' (no prediction: give each a class)'}` : 'loading a page…'}
          {grid.corrections.size > 0 && ` · ${grid.corrections.size} corrected`}
          {grid.leftOut.size > 0 && ` · ${grid.leftOut.size} left out`}
          {selected}
        </span>
        <button type="button" tabIndex={-1} className="qs-button is-primary" onClick={() => store.acceptPage()} disabled={!grid.page || total === 0}>
          Accept page <kbd>Enter</kbd>
        </button>
        <button type="button" tabIndex={-1} className="qs-button" onClick={() => store.requestPage()}>
          Next page
        </button>
      </>
    );
  }
  return (
    <>
      <span className="qs-grid-info" aria-live="polite">
        {grid.mode === 'found' ? `${total.toLocaleString()} found ${grid.found?.title ?? ''}` : `${total.toLocaleString()} items`}
        {selected ? `${selected}: press a class key` : ' · select, then press a class key'}
      </span>
      {grid.mode === 'found' && (
        <button type="button" tabIndex={-1} className="qs-button" onClick={() => store.setFilter('')}>
          Back to the model's pages
        </button>
      )}
    </>
  );
}

/** Tags and a caption for the selection (or the item under the cursor), each as one undoable batch. */
function BulkBar() {
  const { store } = useServices();
  return (
    <div className="qs-grid-bar qs-bulk">
      <TextBox target="tags" keyName="T" label="Tag the selected items" placeholder="tag the selected: outdoor, blurry…" value="" clearOnSubmit onSubmit={(text) => {
        const tags = text.split(',').map((tag) => tag.trim()).filter(Boolean);
        if (tags.length > 0) store.editSelection({ addTags: tags });
      }} />
      <TextBox target="caption" keyName="C" label="Caption the selected items" placeholder="caption the selected: a red car parked on a street" value="" clearOnSubmit onSubmit={(text) => {
        if (text.trim()) store.editSelection({ addCaption: text.trim() });
      }} />
    </div>
  );
}

/** A one-line box of the grid's bars: Enter submits and gives the keys back to the app, Esc restores it. */
function TextBox(props: { target: TextTarget; keyName: string; label: string; placeholder: string; value: string; clearOnSubmit?: boolean; onSubmit: (text: string) => void }) {
  const [draft, setDraft] = useState(props.value);
  const box = useRef<HTMLInputElement>(null);
  useEffect(() => setDraft(props.value), [props.value]);
  useFocusRequest(props.target, box, true);

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      props.onSubmit(draft);
      if (props.clearOnSubmit) setDraft('');
      box.current?.blur();
      (box.current?.closest('.qs-app') as HTMLElement | null)?.focus({ preventScroll: true });
    } else if (event.key === 'Escape') {
      setDraft(props.value);
    }
  };
  return (
    <label className="qs-filter" data-target={props.target}>
      <kbd>{props.keyName}</kbd>
      <input ref={box} aria-label={props.label} placeholder={props.placeholder} value={draft} onChange={(event) => setDraft(event.target.value)} onKeyDown={onKeyDown} />
    </label>
  );
}
