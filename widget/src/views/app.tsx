import { useMemo, useRef, type KeyboardEvent } from 'react';
import { commandFor, type Command } from '../client/keymap';
import type { AppStore } from '../client/app-store';
import { useApp, useServices } from './app-context';
import { ClassesView } from './classes-view';
import { FocusView } from './focus-view';
import { GridView } from './grid-view';
import { HelpOverlay } from './help-overlay';
import { StatsView } from './stats-view';
import { TextModelBadge } from './text-model-status';
import { VlmBadge } from './vlm-status';
import { Toasts } from './toasts';

const TABS = [
  { view: 'focus', title: 'Focus', key: 'F' },
  { view: 'grid', title: 'Grid', key: 'g' },
  { view: 'classes', title: 'Classes', key: 'A' },
  { view: 'stats', title: 'Stats', key: 'S' },
] as const;

function isTextBox(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !['button', 'checkbox', 'radio', 'range', 'submit'].includes(target.type);
}

/** Commands that act on data: a held-down key must not fire them again and again. */
const NO_REPEAT = new Set<Command['kind']>(['label', 'accept', 'skip', 'dont_know', 'undo', 'redo', 'toggle_grid', 'help']);

/**
 * The app: a header, the current view, toasts and help. Every key typed inside is handled here or left to
 * the text box it went to, and never travels further up the page (a notebook's shortcuts live there).
 */
export function App() {
  const { store } = useServices();
  const app = useApp();
  const root = useRef<HTMLDivElement>(null);
  const classKeys = useMemo(() => new Map(app.classes.filter((c) => c.key).map((c) => [c.key!, c.name])), [app.classes]);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    event.stopPropagation();
    if (event.nativeEvent.isComposing) return;
    const command = commandFor(event, { view: app.view, classKeys, inText: isTextBox(event.target) });
    if (!command) return;
    // Help open: only closing it; Enter on its Close button must not label anything.
    if (app.help && command.kind !== 'help' && command.kind !== 'escape') return;
    event.preventDefault();
    if (event.repeat && NO_REPEAT.has(command.kind)) return;
    run(store, command, event.target as HTMLElement, root.current);
    if (app.help) root.current?.focus({ preventScroll: true });
  };
  const stop = (event: { stopPropagation(): void }) => event.stopPropagation();

  const rankerOffered = app.rankers.some((ranker) => ranker.name === app.ranker);
  const labeled = app.stats ? app.stats.labeled + app.pendingLabels : null;
  const remaining = app.stats ? Math.max(0, app.stats.remaining - app.pendingLabels) : null;

  return (
    <div ref={root} className="qs-app" role="application" aria-label="QuickSort labeling" aria-roledescription="labeling app" tabIndex={0} onKeyDown={onKeyDown} onKeyUp={stop} onKeyPress={stop} data-view={app.view} data-status={app.status} data-connection={app.connection}>
      <header className="qs-bar">
        <nav className="qs-tabs" role="tablist" aria-label="Views">
          {TABS.map((tab) => (
            <button key={tab.view} role="tab" type="button" tabIndex={-1} aria-selected={app.view === tab.view} className="qs-tab" onClick={() => store.setView(tab.view)} title={`${tab.title} (${tab.key})`}>
              {tab.title}
              <kbd>{tab.key}</kbd>
            </button>
          ))}
        </nav>
        <div className="qs-counts" aria-label="Progress">
          {labeled !== null && (
            <>
              <span>
                <b>{labeled.toLocaleString()}</b> labeled
              </span>
              <span>
                <b>{remaining!.toLocaleString()}</b> to go
              </span>
            </>
          )}
          {app.connection === 'connected' && app.pending > 0 && <span className="qs-saving" title="actions waiting for the engine's confirmation">saving {app.pending}…</span>}
          {app.connection !== 'connected' && (
            // The socket was lost: the page tries again by itself and sends what is unsent once it is back.
            <span className="qs-connection" data-state={app.connection} role="status" title="The connection to the server was lost: the page reconnects by itself, then sends the unsent actions (each is applied once).">
              {app.connection === 'reconnecting' ? 'reconnecting…' : 'offline'}
              {app.pending > 0 && <b className="qs-unsent" data-unsent={app.pending}>{app.pending} unsent</b>}
            </span>
          )}
          {app.status === 'connecting' && <span>connecting…</span>}
          <TextModelBadge state={app.textModel} />
          <VlmBadge state={app.vlm} />
        </div>
        {!rankerOffered && app.ranker && (
          // Without embeddings the engine hands items out in the dataset's order and no ranker applies: a
          // select would show the first ranker as if it were in use.
          <span className="qs-ranker" data-ranker={app.ranker} title="No embeddings: items come in the dataset's order. Run `quicksort embed` for suggestions and ranking.">
            <span>Order</span>
            <b>{app.ranker === 'order' ? 'as stored' : app.ranker}</b>
          </span>
        )}
        {rankerOffered && (
          <label className="qs-ranker">
            <span>Order</span>
            <select value={app.ranker} onChange={(event) => store.setRanker(event.target.value)} aria-label="Ranker: which item comes next">
              {app.rankers.map((ranker) => (
                <option key={ranker.name} value={ranker.name} title={ranker.summary}>
                  {ranker.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <button type="button" className="qs-help-button" aria-label="Keyboard help (h)" title="Keyboard help (h)" tabIndex={-1} onClick={() => store.toggleHelp()}>
          ?
        </button>
      </header>
      <main className="qs-main">
        {app.view === 'focus' && <FocusView />}
        {app.view === 'grid' && <GridView />}
        {app.view === 'classes' && <ClassesView />}
        {app.view === 'stats' && <StatsView />}
      </main>
      <Toasts />
      <div className="qs-sr-only" aria-live="polite" aria-atomic="true">
        {app.announcement}
      </div>
      {app.help && <HelpOverlay onClose={() => { store.toggleHelp(false); root.current?.focus(); }} />}
    </div>
  );
}

function run(store: AppStore, command: Command, target: HTMLElement, root: HTMLElement | null): void {
  const view = store.getSnapshot().view;
  switch (command.kind) {
    case 'label':
      return view === 'grid' ? store.gridLabel(command.label) : store.labelCurrent(command.label);
    case 'accept':
      return view === 'grid' ? store.acceptPage() : view === 'focus' ? store.acceptCurrent() : undefined;
    case 'skip':
      return store.skipCurrent();
    case 'dont_know':
      return view === 'grid' ? store.gridLeaveOut() : view === 'focus' ? store.dontKnowCurrent() : undefined;
    case 'undo':
      return store.undo();
    case 'redo':
      return store.redo();
    case 'toggle_grid':
      return store.toggleGrid();
    case 'view':
      return store.setView(command.view);
    case 'help':
      return store.toggleHelp();
    case 'filter':
      return store.focusText('filter');
    case 'search':
      return store.focusText('search');
    case 'more_like_this':
      return store.moreLikeThis();
    case 'reject_vlm':
      return store.rejectVlm();
    case 'caption':
      return store.focusText('caption');
    case 'tags':
      return store.focusText('tags');
    case 'move':
      return store.moveCursor(command.dx, command.dy, command.extend);
    case 'toggle_select':
      return store.toggleSelect();
    case 'select_all':
      return store.selectAll();
    case 'escape':
      return store.escape();
    case 'leave_text':
    case 'commit_text':
      // Leaving a box saves it (its blur handler); the keys are the app's again.
      target.blur();
      root?.focus({ preventScroll: true });
      return;
  }
}
