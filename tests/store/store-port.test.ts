import path from 'node:path';
import Database from 'better-sqlite3';
import { LabelStore, type ItemRecord, type Store } from '../../src/store';
import { tempDir } from '../helpers/fixtures';

function record(uri: string): ItemRecord {
  return { uri, width: 10, height: 10, format: 'png', bytes: 100, mtimeMs: 1, hash: uri, split: null, sourceUri: null, box: null, cocoImageId: null, cocoAnnotationId: null };
}

/** The counts as the store would count them from scratch: what the kept counts must always equal. */
function counted(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db
      .prepare('SELECT c.name, (SELECT count(*) FROM item_state s WHERE s.label = c.name AND s.deleted = 0) AS n FROM classes c')
      .all() as { name: string; n: number }[];
    return Object.fromEntries(rows.map((row) => [row.name, row.n]));
  } finally {
    db.close();
  }
}

const kept = (store: Store) => Object.fromEntries(store.classes().map((c) => [c.name, c.count]));

describe('the Store port', () => {
  let temp: ReturnType<typeof tempDir>;
  let file: string;
  let store: LabelStore;
  let ids: number[];

  beforeEach(() => {
    temp = tempDir();
    file = path.join(temp.dir, 'store.db');
    store = LabelStore.open(file);
    ids = store.upsertItems(['a.png', 'b.png', 'c.png', 'd.png'].map(record));
  });
  afterEach(() => {
    store.close();
    temp.cleanup();
  });

  it('keeps class counts equal to a recount through labels, relabels, deletes, restores, undo and redo', () => {
    const [a, b, c, d] = ids as [number, number, number, number];
    const steps: (() => unknown)[] = [
      () => store.act(a, { kind: 'label', label: 'cat' }),
      () => store.actMany([{ itemId: b, action: { kind: 'label', label: 'cat' } }, { itemId: c, action: { kind: 'label', label: 'dog' } }]),
      () => store.act(b, { kind: 'label', label: 'dog' }),
      () => store.act(c, { kind: 'delete' }),
      () => store.act(a, { kind: 'unlabel' }),
      () => store.undo(),
      () => store.undo(),
      () => store.redo(),
      () => store.act(c, { kind: 'restore' }),
      () => store.act(d, { kind: 'label', label: 'bird' }, { source: 'model', confidence: 0.4 }),
      () => store.act(d, { kind: 'skip' }),
      () => store.rebuildState(),
    ];
    for (const step of steps) {
      step();
      expect(kept(store)).toEqual(counted(file));
    }
    expect(kept(store)).toEqual({ cat: 1, dog: 2, bird: 1 });
  });

  it('gives a store of the older schema its counts when it is opened', () => {
    store.act(ids[0]!, { kind: 'label', label: 'cat' });
    store.act(ids[1]!, { kind: 'label', label: 'cat' });
    store.close();
    const db = new Database(file);
    db.exec('ALTER TABLE classes DROP COLUMN count');
    db.exec('ALTER TABLE item_state DROP COLUMN captions'); // what schema 4 added (several captions per item)
    db.exec('DROP TABLE action_keys'); // what schema 5 added (idempotency keys)
    db.pragma('user_version = 2');
    db.close();
    // Read-only, it is not migrated: the counts are counted.
    const reader = LabelStore.open(file, { readonly: true });
    expect(kept(reader)).toEqual({ cat: 2 });
    reader.close();
    store = LabelStore.open(file);
    expect(kept(store)).toEqual({ cat: 2 });
    store.act(ids[2]!, { kind: 'label', label: 'cat' });
    expect(kept(store)).toEqual({ cat: 3 });
  });

  it('returns the acted-on items as they are after the actions, read in the same write', () => {
    const { events, items } = store.actAndRead([
      { itemId: ids[0]!, action: { kind: 'label', label: 'cat' } },
      { itemId: ids[0]!, action: { kind: 'tags', tags: ['blurry'] } },
      { itemId: ids[1]!, action: { kind: 'skip' } },
    ], { user: 'ann' });
    expect(events.map((e) => e.kind)).toEqual(['label', 'tags', 'skip']);
    expect(items.map((item) => [item.id, item.label, item.labeledBy, item.tags, item.skipped, item.version])).toEqual([
      [ids[0], 'cat', 'ann', ['blurry'], false, events[1]!.seq],
      [ids[1], null, null, [], true, events[2]!.seq],
    ]);
    expect(items).toEqual([store.item(ids[0]!), store.item(ids[1]!)]);
  });

  it('reads one moment of the store from a snapshot while others write', () => {
    store.act(ids[0]!, { kind: 'label', label: 'cat' });
    const snapshot = store.snapshot();
    expect(snapshot.count({ labeled: true })).toBe(1); // the first read takes the snapshot
    store.act(ids[1]!, { kind: 'label', label: 'cat' });
    expect(snapshot.count({ labeled: true })).toBe(1);
    expect(snapshot.classes()[0]!.count).toBe(1);
    snapshot.close();
    expect(store.isOpen).toBe(true);
    expect(store.count({ labeled: true })).toBe(2);
  });

  it('reads a store in memory through its own connection, and closing that snapshot leaves the store open', () => {
    const memory = LabelStore.open(':memory:');
    memory.upsertItems([record('x.png')]);
    const snapshot = memory.snapshot();
    expect(snapshot.count()).toBe(1);
    snapshot.close();
    expect(memory.isOpen).toBe(true);
    expect(memory.count()).toBe(1);
    memory.close();
  });

  it('answers a filter with the ids alone, ascending, as items() would list them', () => {
    store.act(ids[2]!, { kind: 'label', label: 'cat' });
    store.act(ids[0]!, { kind: 'tags', tags: ['blurry'] });
    expect([...store.itemIds({ labeled: false })]).toEqual([ids[0], ids[1], ids[3]]);
    expect([...store.itemIds({ label: 'cat' })]).toEqual([ids[2]]);
    expect([...store.itemIds({ tag: 'blurry', labeled: false })]).toEqual([ids[0]]);
    for (const where of [{}, { labeled: true }, { tag: 'none' }]) expect([...store.itemIds(where)]).toEqual(store.items({ where }).map((item) => item.id));
  });

  it('lists the settled items a fresh learner must know, without the plain candidates', () => {
    const [a, b, c, d] = ids as [number, number, number, number];
    store.act(a, { kind: 'label', label: 'cat' });
    store.act(b, { kind: 'label', label: 'dog' }, { source: 'model' });
    store.act(c, { kind: 'dont_know' });
    store.act(d, { kind: 'delete' });
    expect([...store.iterateSettledItems()].map((item) => item.id)).toEqual([a, c, d]);
  });
});
