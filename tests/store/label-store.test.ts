import path from 'node:path';
import Database from 'better-sqlite3';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../src/errors';
import { LabelStore, type ItemRecord } from '../../src/store';
import { tempDir } from '../helpers/fixtures';

function record(uri: string, hash = uri): ItemRecord {
  return {
    uri, width: 10, height: 10, format: 'png', bytes: 100, mtimeMs: 1, hash, split: null, sourceUri: null, box: null,
    cocoImageId: null, cocoAnnotationId: null,
  };
}

describe('LabelStore', () => {
  let temp: ReturnType<typeof tempDir>;
  let file: string;
  let store: LabelStore;
  let ids: number[];

  beforeEach(() => {
    temp = tempDir();
    file = path.join(temp.dir, 'store.db');
    store = LabelStore.open(file);
    ids = store.upsertItems(['a.png', 'b.png', 'c.png', 'd.png'].map((uri) => record(uri)));
  });
  afterEach(() => {
    store.close();
    temp.cleanup();
  });

  it('derives the current state from the events, and the two always agree', () => {
    const [a, b, c] = ids as [number, number, number];
    store.act(a, { kind: 'label', label: 'cat' });
    store.act(a, { kind: 'label', label: 'dog' });
    store.act(b, { kind: 'label', label: 'cat' });
    store.act(b, { kind: 'dont_know' });
    store.act(c, { kind: 'caption', caption: 'a bird\non a wire' });
    store.act(c, { kind: 'tags', tags: ['outdoor', 'blurry', 'outdoor'] });
    store.act(c, { kind: 'delete' });

    expect(store.item(a)).toMatchObject({ label: 'dog', labelSource: 'human', labeledBy: 'local' });
    expect(store.item(b)).toMatchObject({ label: null, dontKnow: true });
    expect(store.item(c)).toMatchObject({ caption: 'a bird\non a wire', tags: ['outdoor', 'blurry'], deleted: true });
    expect(store.events()).toHaveLength(7);
    expect(store.checkState()).toEqual([]);
    expect(store.classes().map((c) => [c.name, c.count])).toEqual([['cat', 0], ['dog', 1]]);

    // Corrupt the derived table by hand; rebuilding from the log restores it.
    store.db.prepare("UPDATE item_state SET label = 'bogus'").run();
    expect(store.checkState().length).toBeGreaterThan(0);
    store.rebuildState();
    expect(store.checkState()).toEqual([]);
    expect(store.item(a).label).toBe('dog');
  });

  it('never lets a model label override a person', () => {
    const [a] = ids as [number];
    store.act(a, { kind: 'label', label: 'cat' });
    store.act(a, { kind: 'label', label: 'dog' }, { source: 'model', confidence: 0.9 });
    expect(store.item(a)).toMatchObject({ label: 'cat', labelSource: 'human' });
    const [, b] = ids as [number, number];
    store.act(b, { kind: 'label', label: 'dog' }, { source: 'model', confidence: 0.9 });
    expect(store.item(b)).toMatchObject({ label: 'dog', labelSource: 'model', confidence: 0.9 });
  });

  it('undoes and redoes per user, batches together, and clears redo after a new action', () => {
    const [a, b, c] = ids as [number, number, number];
    store.act(a, { kind: 'label', label: 'cat' }, { user: 'ann' });
    store.act(a, { kind: 'label', label: 'dog' }, { user: 'ann' });
    store.act(b, { kind: 'label', label: 'bird' }, { user: 'bob' });

    expect(store.undo('ann').map((e) => e.payload.label)).toEqual(['dog']);
    expect(store.item(a).label).toBe('cat');
    expect(store.item(b).label).toBe('bird'); // bob's label is not ann's to undo
    expect(store.undo('ann').map((e) => e.payload.label)).toEqual(['cat']);
    expect(store.item(a).label).toBeNull();
    expect(store.undo('ann')).toEqual([]);

    expect(store.redo('ann').map((e) => e.payload.label)).toEqual(['cat']);
    expect(store.redo('ann').map((e) => e.payload.label)).toEqual(['dog']);
    expect(store.item(a).label).toBe('dog');
    expect(store.redo('ann')).toEqual([]);

    // A batch is one step.
    store.actMany(
      [b, c].map((itemId) => ({ itemId, action: { kind: 'label' as const, label: 'fish' } })),
      { user: 'ann' },
    );
    expect(store.item(c).label).toBe('fish');
    expect(store.undo('ann')).toHaveLength(2);
    expect(store.item(b).label).toBe('bird');
    expect(store.item(c).label).toBeNull();

    // A new action after an undo clears the redo history.
    store.act(c, { kind: 'skip' }, { user: 'ann' });
    expect(store.redo('ann')).toEqual([]);
    expect(store.checkState()).toEqual([]);
    store.rebuildState();
    expect(store.item(b).label).toBe('bird');
    expect(store.item(a).label).toBe('dog');
  });

  it('refuses a stale version with ConflictError naming who acted', () => {
    const [a] = ids as [number];
    const version = store.item(a).version;
    store.act(a, { kind: 'label', label: 'cat' }, { user: 'ann', ifVersion: version });
    expect(() => store.act(a, { kind: 'label', label: 'dog' }, { user: 'bob', ifVersion: version })).toThrow(ConflictError);
    expect(() => store.act(a, { kind: 'label', label: 'dog' }, { user: 'bob', ifVersion: version })).toThrow(/labeled "cat" by ann/);
    expect(store.item(a).label).toBe('cat');
  });

  it('refuses bad input with typed errors and stores nothing of a failed batch', () => {
    const [a] = ids as [number];
    expect(() => store.act(999, { kind: 'label', label: 'cat' })).toThrow(NotFoundError);
    expect(() => store.act(a, { kind: 'label', label: '  ' })).toThrow(InvalidArgumentError);
    expect(() => store.act(a, { kind: 'label', label: 'a\u0000b' })).toThrow(InvalidArgumentError);
    expect(() => store.act(a, { kind: 'tags', tags: [''] })).toThrow(InvalidArgumentError);
    expect(() => store.act(a, { kind: 'label', label: 'x' }, { confidence: 2 })).toThrow(/confidence/);
    expect(() => store.act(a, { kind: 'paint' } as never)).toThrow(/unknown action "paint"/);
    expect(() => store.actMany([{ itemId: a, action: { kind: 'label', label: 'ok' } }, { itemId: 999, action: { kind: 'skip' } }])).toThrow(
      NotFoundError,
    );
    expect(store.events()).toHaveLength(0);
    expect(store.item(a).label).toBeNull();
  });

  it('filters items', () => {
    const [a, b, c, d] = ids as [number, number, number, number];
    store.act(a, { kind: 'label', label: 'cat' });
    store.act(b, { kind: 'label', label: 'dog' });
    store.act(c, { kind: 'tags', tags: ['blurry'] });
    store.act(d, { kind: 'delete' });
    expect(store.items({ where: { label: 'cat' } }).map((i) => i.id)).toEqual([a]);
    expect(store.items({ where: { labeled: false } }).map((i) => i.id)).toEqual([c]);
    expect(store.items({ where: { tag: 'blurry' } }).map((i) => i.id)).toEqual([c]);
    expect(store.items({ where: { deleted: true } }).map((i) => i.id)).toEqual([d]);
    expect(store.items({ limit: 2, offset: 1 }).map((i) => i.id)).toEqual([b, c]);
    expect(store.count()).toBe(3);
    expect(store.stats()).toMatchObject({ items: 3, labeled: 2, unlabeled: 1, deleted: 1 });
  });

  it('reopens with everything in place, and lets readers read while a writer writes', () => {
    const [a, b] = ids as [number, number];
    store.act(a, { kind: 'label', label: 'cat' });
    const reader = new Database(file, { readonly: true });
    const countLabels = reader.prepare('SELECT count(*) AS n FROM item_state WHERE label IS NOT NULL');
    const writes = store.db.transaction(() => {
      store.act(b, { kind: 'label', label: 'dog' });
      // Inside the writer's open transaction, the reader still sees the last committed snapshot (WAL).
      expect((countLabels.get() as { n: number }).n).toBe(1);
    });
    writes();
    expect((countLabels.get() as { n: number }).n).toBe(2);
    reader.close();

    store.close();
    store = LabelStore.open(file);
    expect(store.item(a).label).toBe('cat');
    expect(store.item(b).label).toBe('dog');
    expect(store.integrityCheck()).toBe('ok');
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
  });
});
