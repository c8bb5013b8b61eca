import { Dataset } from '../../src/dataset';
import { loadEmbeddings } from '../../src/embed';
import { SessionHost } from '../../src/session';
import { AppStore } from '../../widget/src/client/app-store';
import { parseSearch } from '../../widget/src/client/filter';
import { SessionClient } from '../../widget/src/client/session-client';
import { captionedCocoMini } from '../helpers/captioned-dataset';
import { LoopbackModel } from './loopback-model';

/*
 * The app's search, "more like this", bulk tags and captions, caption suggestions and the text model's state,
 * against a real engine session: coco-mini-train's 80 images embedded with the default ONNX model, their COCO
 * captions imported and the text model trained (InfoNCE) before the session opens.
 */

describe('finding by meaning in the app', () => {
  jest.setTimeout(180_000);
  let data: Awaited<ReturnType<typeof captionedCocoMini>>;
  let ds: Dataset;
  let host: SessionHost;
  let model: LoopbackModel;
  let store: AppStore;

  beforeAll(async () => {
    data = await captionedCocoMini();
    ds = await Dataset.open(data.dir, { user: 'ann' });
  });

  beforeEach(async () => {
    host = new SessionHost(ds, { embeddings: loadEmbeddings(ds.root, { store: ds.store }), textTraining: false, thumbnailCache: false });
    model = new LoopbackModel();
    model.attach(host, 'ann');
    store = new AppStore(new SessionClient(model));
    store.start();
    await model.settle();
  });

  afterEach(async () => {
    store.close();
    model.session.close();
    await host.close();
  });

  afterAll(() => {
    ds?.close();
    data?.cleanup();
  });

  it('parses the search box: the words to look for, and filter words for the same query', () => {
    expect(parseSearch('unlabeled a dog asleep on a sofa')).toEqual({ text: 'a dog asleep on a sofa', filter: { unlabeled: true } });
    expect(parseSearch('label:animal tag:x split:val two giraffes')).toEqual({ text: 'two giraffes', filter: { label: 'animal', tag: 'x', split: 'val' } });
    expect(parseSearch('  a red car ')).toEqual({ text: 'a red car', filter: null });
  });

  it('shows the text model from the welcome, then searches: the grid lists the items best first with their scores', async () => {
    expect(store.getSnapshot().textModel).toMatchObject({ status: 'ready', captions: 400, images: 80, tower: 'trained', imageModel: expect.stringMatching(/^mobilenet.*@/) });
    store.search('a giraffe standing near a tree');
    expect(store.getSnapshot()).toMatchObject({ view: 'grid', grid: { mode: 'found', loading: true } });
    await model.settle();
    const { grid, items } = store.getSnapshot();
    expect(store.getSnapshot().toasts.map((t) => t.text)).toEqual([]);
    expect(grid.loading).toBe(false);
    expect(grid.found!.title).toBe('“a giraffe standing near a tree”');
    expect(grid.found!.ids.length).toBe(80);
    const scores = grid.found!.ids.map((id) => grid.found!.scores.get(id)!);
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeLessThanOrEqual(scores[i - 1]!);
    // The same ranking as the engine's own search, and the views are there for the cells.
    expect(grid.found!.ids.slice(0, 10)).toEqual((await ds.search('a giraffe standing near a tree', { k: 10 })).map((hit) => hit.id));
    expect(grid.found!.ids.every((id) => items.has(id))).toBe(true);
    // Captions naming giraffes belong to the best results more than to the rest.
    const giraffe = (id: number) => (items.get(id)!.captions ?? []).some((c) => /giraffe/i.test(c.text));
    const top = grid.found!.ids.slice(0, 5).filter(giraffe).length;
    const all = grid.found!.ids.filter(giraffe).length;
    expect(all).toBeGreaterThan(0);
    expect(top / 5).toBeGreaterThan(all / 80);
  });

  it('searches with filter words in the same query, and labels the found selection as one batch', async () => {
    const first = ds.items()[0]!;
    ds.label(first.id, 'animal');
    store.search('unlabeled a plate of food');
    await model.settle();
    const found = store.getSnapshot().grid.found!;
    expect(found.ids).not.toContain(first.id);
    expect(found.ids.length).toBe(79);
    store.clickCell(0, {});
    store.clickCell(2, { shift: true });
    store.gridLabel('food');
    await model.settle();
    const chosen = found.ids.slice(0, 3);
    expect(chosen.map((id) => ds.item(id).label)).toEqual(['food', 'food', 'food']);
    store.undo();
    await model.settle();
    expect(chosen.map((id) => ds.item(id).label)).toEqual([null, null, null]);
  });

  it('tags and captions the selection as one undoable batch', async () => {
    store.search('a bus on a city street');
    await model.settle();
    const ids = store.getSnapshot().grid.found!.ids.slice(0, 4);
    store.clickCell(0, {});
    store.clickCell(3, { shift: true });
    store.editSelection({ addTags: ['street'] });
    // Shown at once, before the engine answers.
    expect(ids.every((id) => store.getSnapshot().items.get(id)!.tags.includes('street'))).toBe(true);
    await model.settle();
    expect(ids.map((id) => ds.item(id).tags)).toEqual(ids.map(() => ['street']));
    store.editSelection({ addCaption: 'a street scene' });
    await model.settle();
    for (const id of ids) expect(ds.item(id).captions).toContainEqual(expect.objectContaining({ text: 'a street scene', source: 'human', author: 'ann' }));
    // One undo takes the caption back from all four; the next, the tags.
    store.undo();
    await model.settle();
    for (const id of ids) expect(ds.item(id).captions.map((c) => c.text)).not.toContain('a street scene');
    expect(ids.map((id) => ds.item(id).tags)).toEqual(ids.map(() => ['street']));
    store.undo();
    await model.settle();
    expect(ids.map((id) => ds.item(id).tags)).toEqual(ids.map(() => []));
    expect(ids.every((id) => store.getSnapshot().items.get(id)!.tags.length === 0)).toBe(true);
  });

  it('refuses a bulk edit of nothing or of a missing item, naming why, and changes nothing', async () => {
    store.search('a bus on a city street');
    await model.settle();
    store.clickCell(0, {});
    store.editSelection({ addTags: [' '] });
    await model.settle();
    expect(store.getSnapshot().toasts.at(-1)!.text).toMatch(/^Not saved — tags and captions of \d+\.jpg: edit_many: nothing to do; give addTags, removeTags or addCaption/);
    const heard: unknown[] = [];
    model.on('msg:custom', (content) => heard.push(content));
    await model.session.handle({ type: 'edit_many', requestId: 9000, itemIds: [999_999], addCaption: 'x' });
    expect(heard).toContainEqual(expect.objectContaining({ type: 'refused', requestId: 9000, code: 'not_found', reason: expect.stringMatching(/edit_many: no item 999999 in the dataset/) }));
    await model.session.handle({ type: 'edit_many', requestId: 9001, itemIds: Array.from({ length: 100_000 }, (_, i) => i + 1), addTags: ['x'] });
    expect(heard).toContainEqual(expect.objectContaining({ type: 'refused', requestId: 9001, code: 'invalid_argument', reason: 'edit_many: itemIds must hold 1 to 500 items; got 100000' }));
    expect(ds.items().every((item) => item.tags.length === 0)).toBe(true);
  });

  it('finds more like this from the item in focus: its nearest images, best first, itself left out', async () => {
    const current = store.getSnapshot().queue[0]!;
    store.moreLikeThis();
    await model.settle();
    const { grid, view } = store.getSnapshot();
    expect(view).toBe('grid');
    expect(grid.found!.title).toBe(`like ${current.uri.split('/').pop()}`);
    expect(grid.found!.ids).not.toContain(current.id);
    expect(grid.found!.ids.length).toBe(79);
    const scores = grid.found!.ids.map((id) => grid.found!.scores.get(id)!);
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeLessThanOrEqual(scores[i - 1]!);
    // Back to the model's pages from the bar.
    store.setFilter('');
    await model.settle();
    expect(store.getSnapshot().grid.mode).toBe('page');
  });

  it('offers captions of similar images for the item being captioned, not its own', async () => {
    const current = store.getSnapshot().queue[0]!;
    store.wantCaptionSuggestions(current.id);
    await model.settle();
    const suggestions = store.getSnapshot().captionSuggestions.get(current.id)!;
    expect(suggestions).toHaveLength(5);
    const own = new Set(ds.item(current.id).captions.map((c) => c.text.trim()));
    expect(suggestions.some((s) => own.has(s.text))).toBe(false);
    for (let i = 1; i < suggestions.length; i++) expect(suggestions[i]!.score).toBeLessThanOrEqual(suggestions[i - 1]!.score);
  });

  it('offers a caption written meanwhile: captions are read again after a caption event, not after a label', async () => {
    const [target, writer] = ds.items().slice(10, 12);
    const search = await host.text.search();
    // Every distinct caption, ranked (the protocol caps k at 50; the suggester itself does not).
    const all = async () => (await host.captionSuggester.suggest(search, target!.id, 100_000)).map((c) => c.text);
    const before = await all();
    // Reads of every captioned item: the suggester's list of captions.
    const reads = jest.spyOn(ds.store, 'iterateItems');
    const captionReads = () => reads.mock.calls.filter(([where]) => (where as { hasCaption?: boolean } | undefined)?.hasCaption === true).length;
    await model.session.handle({ type: 'label', requestId: 9101, itemId: writer!.id, label: 'other' });
    expect(await all()).toEqual(before);
    expect(captionReads()).toBe(0); // a label is no reason to read every captioned item again
    const written = 'a caption written while the app was open';
    await model.session.handle({ type: 'add_caption', requestId: 9102, itemId: writer!.id, caption: written });
    expect(await all()).toContain(written);
    expect(captionReads()).toBe(1);
    await model.session.handle({ type: 'undo', requestId: 9103 });
    expect(await all()).not.toContain(written);
    expect(captionReads()).toBe(2);
    reads.mockRestore();
  });

  it('says what to type when the search box is empty, and follows the text model state the engine pushes', async () => {
    store.search('  unlabeled ');
    expect(store.getSnapshot().toasts.at(-1)!.text).toMatch(/Type what to look for/);
    host.broadcast({ type: 'text_model', state: { status: 'training', epoch: 2, epochs: 20, loss: 3.1 } });
    await model.settle();
    expect(store.getSnapshot().textModel).toEqual({ status: 'training', epoch: 2, epochs: 20, loss: 3.1 });
  });
});
