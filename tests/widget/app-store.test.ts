import { Dataset } from '../../src/dataset';
import type { EmbeddingMatrix } from '../../src/learn';
import { mulberry32 } from '../../src/random';
import { SessionHost } from '../../src/session';
import { AppStore, type UiState } from '../../widget/src/client/app-store';
import { SessionClient } from '../../widget/src/client/session-client';
import { sampleCopy } from '../helpers/fixtures';
import { LoopbackModel } from './loopback-model';

/**
 * The app's state machine against a real engine session, no browser: an AFM model whose custom messages go
 * straight to a LabelingSession. Replies can be held back, to see what the app shows before the engine
 * answers (optimistic) and after (confirmed, or rolled back).
 */
function randomEmbeddings(ids: number[], dim = 16): EmbeddingMatrix {
  const random = mulberry32(3);
  return { ids, dim, vectors: Float32Array.from({ length: ids.length * dim }, () => random() - 0.5) };
}

describe('the app state against a real session', () => {
  let data: ReturnType<typeof sampleCopy>;
  let ds: Dataset;
  let host: SessionHost;
  let model: LoopbackModel;
  let store: AppStore;
  let saved: UiState[];

  async function open(options: { embeddings?: boolean; ui?: Partial<UiState> } = {}) {
    host = new SessionHost(ds, options.embeddings ? { embeddings: randomEmbeddings(ds.items().map((i) => i.id)), ranker: 'chain', rescoreDelayMs: 1 } : {});
    model = new LoopbackModel();
    model.attach(host, 'ann');
    saved = [];
    store = new AppStore(new SessionClient(model), { ui: options.ui, onUiChange: (ui) => saved.push(ui) });
    store.start();
    await model.settle();
  }

  beforeEach(async () => {
    data = sampleCopy();
    ds = await Dataset.open(data.dir, { user: 'ann' });
    await ds.ingest();
    for (const name of ['cat', 'dog', 'bird']) ds.addClass(name);
  });
  afterEach(async () => {
    store?.close();
    model?.session.close();
    await host?.close();
    ds.close();
    data.cleanup();
  });

  it('welcomes, then shows the queue with the class keys', async () => {
    await open();
    const app = store.getSnapshot();
    expect(app.status).toBe('ready');
    expect(app.classes.map((c) => [c.key, c.name])).toEqual([['1', 'cat'], ['2', 'dog'], ['3', 'bird']]);
    expect(app.queue.map((item) => item.id)).toEqual([1, 2, 3, 4, 5]);
    expect(saved.at(-1)).toEqual({ view: 'focus', filterText: '', focus: 1 });
  });

  it('moves to the next item before the engine answers, and confirms with its ack', async () => {
    await open();
    model.hold = true;
    store.labelCurrent('cat');
    store.labelCurrent('dog');
    let app = store.getSnapshot();
    expect(app.queue[0]!.id).toBe(3);
    expect(app.pending).toBe(2);
    expect(app.pendingLabels).toBe(2);
    await model.release();
    app = store.getSnapshot();
    expect(app.pending).toBe(0);
    expect(app.pendingLabels).toBe(0);
    expect(app.queue[0]!.id).toBe(3);
    expect(app.items.get(1)).toMatchObject({ label: 'cat', labelSource: 'human', labeledBy: 'ann' });
    expect(ds.item(1).label).toBe('cat');
    expect(ds.item(2).label).toBe('dog');
  });

  it('rolls a refused label back, with a visible message', async () => {
    await open();
    model.hold = true;
    store.labelCurrent('   ');
    expect(store.getSnapshot().queue[0]!.id).toBe(2);
    await model.release();
    const app = store.getSnapshot();
    expect(app.queue[0]!.id).toBe(1);
    expect(app.toasts).toEqual([expect.objectContaining({ kind: 'error', text: expect.stringMatching(/Not saved .* class name must be 1–/) })]);
    expect(ds.item(1).label).toBeNull();
  });

  it('drops an item someone else labeled first, and says so', async () => {
    await open();
    // Bob labels item 1 while it is on Ann's screen; her key arrives after his.
    ds.act(1, { kind: 'label', label: 'dog' }, { user: 'bob' });
    model.hold = true;
    store.labelCurrent('cat');
    expect(store.getSnapshot().queue[0]!.id).toBe(2);
    await model.release();
    const app = store.getSnapshot();
    expect(app.toasts[0]!.text).toMatch(/already labeled "dog" by bob/);
    expect(app.queue.map((item) => item.id)).not.toContain(1);
    expect(app.items.get(1)).toMatchObject({ label: 'dog', labeledBy: 'bob' });
  });

  it('undoes at once: the item is back in front before the engine confirms', async () => {
    await open();
    store.labelCurrent('cat');
    store.labelCurrent('dog');
    await model.settle();
    model.hold = true;
    store.undo();
    expect(store.getSnapshot().queue[0]).toMatchObject({ id: 2, label: null });
    await model.release();
    expect(store.getSnapshot().queue[0]).toMatchObject({ id: 2, label: null });
    expect(ds.item(2).label).toBeNull();
    store.undo();
    await model.settle();
    expect(store.getSnapshot().queue.slice(0, 2).map((item) => item.id)).toEqual([1, 2]);
    expect(ds.item(1).label).toBeNull();
    store.redo();
    await model.settle();
    expect(ds.item(1).label).toBe('cat');
    expect(store.getSnapshot().queue[0]!.id).toBe(2);
  });

  it('undoes a label that was not confirmed yet, in order', async () => {
    await open();
    model.hold = true;
    store.labelCurrent('cat');
    store.undo();
    expect(store.getSnapshot().queue[0]!.id).toBe(1);
    await model.release();
    expect(store.getSnapshot().queue[0]).toMatchObject({ id: 1, label: null });
    expect(ds.item(1).label).toBeNull();
  });

  it('saves captions and tags as events, optimistically', async () => {
    await open();
    model.hold = true;
    store.setCaption(1, 'a cat on a mat\nsecond line');
    store.setTags(1, ['cute', ' indoor ', 'cute']);
    expect(store.getSnapshot().items.get(1)).toMatchObject({ caption: 'a cat on a mat\nsecond line', tags: ['cute', 'indoor'] });
    await model.release();
    expect(ds.item(1)).toMatchObject({ caption: 'a cat on a mat\nsecond line', tags: ['cute', 'indoor'] });
    expect(ds.events({ itemId: 1 }).map((event) => event.kind)).toEqual(['caption', 'tags']);
    store.undo();
    await model.settle();
    expect(ds.item(1).tags).toEqual([]);
    expect(store.getSnapshot().items.get(1)!.tags).toEqual([]);
  });

  it('accepts a grid page with the odd ones out corrected and one left out, as one undoable batch', async () => {
    await open({ embeddings: true });
    store.setView('grid');
    await model.settle();
    let grid = store.getSnapshot().grid;
    expect(grid.mode).toBe('page');
    const ids = grid.page!.ids;
    expect(ids.length).toBeGreaterThan(3);
    // No prediction yet (nothing labeled): every item needs a class; select all, then fix two.
    store.selectAll();
    store.gridLabel('cat');
    store.clickCell(1, {});
    store.gridLabel('dog');
    store.clickCell(2, {});
    store.gridLeaveOut();
    grid = store.getSnapshot().grid;
    expect(grid.corrections.get(ids[1]!)).toBe('dog');
    expect(grid.leftOut.has(ids[2]!)).toBe(true);
    store.acceptPage();
    await model.settle();
    expect(ds.item(ids[0]!).label).toBe('cat');
    expect(ds.item(ids[1]!).label).toBe('dog');
    expect(ds.item(ids[2]!).label).toBeNull();
    expect(ds.items({ where: { labeled: true } }).length).toBe(ids.length - 1);
    // The next page is there at once, without the labeled items.
    const next = store.getSnapshot().grid.page!.ids;
    expect(next.filter((id) => ids.includes(id) && id !== ids[2])).toEqual([]);
    store.undo();
    await model.settle();
    expect(ds.items({ where: { labeled: true } }).length).toBe(0);
    expect(store.getSnapshot().grid.page!.ids).toEqual(ids);
  });

  it('rolls a refused page back: shown labeled at once, unlabeled after the refusal, nothing left to undo', async () => {
    await open({ embeddings: true });
    store.setView('grid');
    await model.settle();
    const ids = store.getSnapshot().grid.page!.ids;
    store.selectAll();
    store.gridLabel('   ');
    model.hold = true;
    store.acceptPage();
    expect(store.getSnapshot()).toMatchObject({ pendingLabels: ids.length, grid: { loading: true } });
    expect(store.getSnapshot().items.get(ids[0]!)).toMatchObject({ label: '   ', labelSource: 'human' });
    await model.release();
    let app = store.getSnapshot();
    expect(app.toasts).toEqual([expect.objectContaining({ kind: 'error', text: expect.stringMatching(new RegExp(`^Not saved — ${ids.length} items as .* class name must be 1–`)) })]);
    expect(app.pendingLabels).toBe(0);
    expect(ids.map((id) => app.items.get(id)!.label)).toEqual(ids.map(() => null));
    expect(app.grid).toMatchObject({ mode: 'page', loading: false });
    expect(ds.items({ where: { labeled: true } }).length).toBe(0);
    store.undo();
    await model.settle();
    app = store.getSnapshot();
    expect(app.toasts.at(-1)).toMatchObject({ kind: 'info', text: 'Nothing to undo.' });
    // The refused batch left the history: undo had nothing of this client's to take back.
    expect(app.announcement).toBe('undo');
    expect(ids.map((id) => app.items.get(id)!.label)).toEqual(ids.map(() => null));
  });

  it('filters the grid over all items, in windows, and labels a selection at once', async () => {
    await open();
    store.setFilter('unlabeled');
    await model.settle();
    let grid = store.getSnapshot().grid;
    expect(grid).toMatchObject({ mode: 'browse', filterText: 'unlabeled', filter: { label: null } });
    expect(grid.browseIds.length).toBe(36);
    expect(grid.browseIds.slice(0, 3)).toEqual([1, 2, 3]);
    store.setColumns(6);
    store.moveCursor(0, 1, false);
    expect(store.getSnapshot().grid.cursor).toBe(6);
    store.moveCursor(2, 0, true);
    expect([...store.getSnapshot().grid.selection]).toEqual([7, 8, 9]);
    store.gridLabel('bird');
    expect(store.getSnapshot().items.get(8)).toMatchObject({ label: 'bird' });
    await model.settle();
    expect(ds.items({ where: { label: 'bird' } }).map((item) => item.id)).toEqual([7, 8, 9]);
    grid = store.getSnapshot().grid;
    expect(grid.selection.size).toBe(0);
    expect(saved.at(-1)).toMatchObject({ view: 'grid', filterText: 'unlabeled' });
  });

  it('comes back where it was: the view, the filter and the item in focus', async () => {
    await open();
    await open({ ui: { view: 'focus', filterText: '', focus: 9 } });
    expect(store.getSnapshot().queue[0]!.id).toBe(9);
    await open({ ui: { view: 'grid', filterText: 'label:cat' } });
    expect(store.getSnapshot()).toMatchObject({ view: 'grid', grid: { mode: 'browse', filter: { label: 'cat' } } });
  });

  it('adds a class with the next key, and follows the counts the engine sends with stats', async () => {
    await open();
    store.addClass('fish');
    await model.settle();
    expect(store.getSnapshot().classes.find((c) => c.name === 'fish')).toMatchObject({ key: '4' });
    store.labelCurrent('fish');
    store.requestStats();
    await model.settle();
    expect(store.getSnapshot().classes.find((c) => c.name === 'fish')!.count).toBe(1);
    expect(store.getSnapshot().stats).toMatchObject({ labeled: 1, sessionLabels: 1 });
  });
});
