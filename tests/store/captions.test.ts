import { copyFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { InvalidArgumentError } from '../../src/errors';
import { LabelStore, type ItemRecord } from '../../src/store';
import { tempDir } from '../helpers/fixtures';

function record(uri: string): ItemRecord {
  return {
    uri, width: 10, height: 10, format: 'png', bytes: 100, mtimeMs: 1, hash: uri, split: null, sourceUri: null, box: null,
    cocoImageId: null, cocoAnnotationId: null,
  };
}

const texts = (store: LabelStore, id: number) => store.item(id).captions.map((c) => [c.text, c.source, c.author]);

describe('several captions per item (issue 15)', () => {
  let temp: ReturnType<typeof tempDir>;
  let store: LabelStore;
  let a: number;
  let b: number;

  beforeEach(() => {
    temp = tempDir();
    store = LabelStore.open(path.join(temp.dir, 'store.db'));
    [a, b] = store.upsertItems(['a.png', 'b.png'].map(record)) as [number, number];
  });
  afterEach(() => {
    store.close();
    temp.cleanup();
  });

  it("keeps a person's own caption, imported ones and model drafts side by side, each with source, author and time", () => {
    const before = Date.now();
    store.act(a, { kind: 'caption', caption: 'a cat on a sofa' }, { user: 'ann' });
    store.act(a, { kind: 'add_caption', caption: '  A cat sleeping on a couch. ', source: 'import', author: 'captions_train2017.json' }, { user: 'ann' });
    store.act(a, { kind: 'add_caption', caption: 'a grey cat' }, { user: 'vlm-bot', source: 'vlm' });
    const item = store.item(a);
    expect(texts(store, a)).toEqual([
      ['a cat on a sofa', 'human', 'ann'],
      ['A cat sleeping on a couch.', 'import', 'captions_train2017.json'], // trimmed
      ['a grey cat', 'vlm', 'vlm-bot'],
    ]);
    expect(item.caption).toBe('a cat on a sofa');
    expect(item.captions.every((c) => c.time >= before && c.time <= Date.now())).toBe(true);
    expect(store.checkState()).toEqual([]);
  });

  it("replaces the user's own caption in place when they set it again, and another user's stays", () => {
    store.act(a, { kind: 'add_caption', caption: 'imported', source: 'import', author: 'x.csv' });
    store.act(a, { kind: 'caption', caption: 'first try' }, { user: 'ann' });
    store.act(a, { kind: 'caption', caption: 'bob says' }, { user: 'bob' });
    store.act(a, { kind: 'caption', caption: 'a tabby cat' }, { user: 'ann' });
    expect(texts(store, a)).toEqual([
      ['imported', 'import', 'x.csv'],
      ['a tabby cat', 'human', 'ann'],
      ['bob says', 'human', 'bob'],
    ]);
    expect(store.item(a).caption).toBe('a tabby cat'); // the one set most recently
    store.act(a, { kind: 'caption', caption: null }, { user: 'ann' });
    expect(store.item(a).caption).toBe('imported'); // ann's is gone and bob's was set before: the first one
    expect(texts(store, a).map(([text]) => text)).toEqual(['imported', 'bob says']);
    store.act(a, { kind: 'caption', caption: '' }, { user: 'bob' });
    expect(texts(store, a)).toEqual([['imported', 'import', 'x.csv']]);
  });

  it('adds a caption of the same text and source once, and removes captions by text (and source, author)', () => {
    store.act(a, { kind: 'add_caption', caption: 'a dog', source: 'import', author: 'one.csv' });
    store.act(a, { kind: 'add_caption', caption: 'a dog ', source: 'import', author: 'other.csv' });
    store.act(a, { kind: 'add_caption', caption: 'a dog', source: 'model' }, { user: 'ranker' });
    expect(texts(store, a)).toEqual([['a dog', 'import', 'one.csv'], ['a dog', 'model', 'ranker']]);
    store.act(a, { kind: 'remove_caption', caption: 'a dog', source: 'model' });
    expect(texts(store, a)).toEqual([['a dog', 'import', 'one.csv']]);
    store.act(a, { kind: 'remove_caption', caption: 'a dog' });
    expect(store.item(a)).toMatchObject({ caption: null, captions: [] });
    expect(store.checkState()).toEqual([]);
  });

  it('undoes and redoes caption actions like labels, a batch at a time', () => {
    store.act(a, { kind: 'caption', caption: 'mine' }, { user: 'ann' });
    store.actMany(
      [
        { itemId: a, action: { kind: 'add_caption', caption: 'one', source: 'import', author: 'f.jsonl' } },
        { itemId: b, action: { kind: 'add_caption', caption: 'two', source: 'import', author: 'f.jsonl' } },
        { itemId: a, action: { kind: 'remove_caption', caption: 'mine' } },
      ],
      { user: 'ann' },
    );
    expect(texts(store, a)).toEqual([['one', 'import', 'f.jsonl']]);
    expect(store.undo('ann').map((e) => e.kind)).toEqual(['add_caption', 'add_caption', 'remove_caption']);
    expect(texts(store, a)).toEqual([['mine', 'human', 'ann']]);
    expect(store.item(b).captions).toEqual([]);
    store.redo('ann');
    expect(texts(store, b)).toEqual([['two', 'import', 'f.jsonl']]);
    expect(store.item(a).caption).toBe('one');
    store.undo('ann');
    store.undo('ann');
    expect(store.item(a)).toMatchObject({ caption: null, captions: [] });
    expect(store.checkState()).toEqual([]);
    store.rebuildState();
    expect(store.checkState()).toEqual([]);
  });

  it('joins a batch written in several transactions, so one undo takes back all of it', () => {
    const [first] = store.actMany([{ itemId: a, action: { kind: 'add_caption', caption: 'chunk 1' } }], { user: 'ann' });
    store.act(b, { kind: 'label', label: 'cat' }, { user: 'bob' }); // someone else, between the chunks
    store.actMany([{ itemId: b, action: { kind: 'add_caption', caption: 'chunk 2' } }], { user: 'ann', batch: first!.batch });
    expect(store.undo('ann')).toHaveLength(2);
    expect(store.item(a).captions).toEqual([]);
    expect(store.item(b)).toMatchObject({ captions: [], label: 'cat' });
    // Only a batch of the same user's actions, still in effect, can be joined.
    const join = (batch: number, user: string) => () => store.actMany([{ itemId: a, action: { kind: 'skip' } }], { user, batch });
    expect(join(first!.batch, 'ann')).toThrow(/undone/);
    const [bobs] = store.events({ itemId: b }).filter((e) => e.kind === 'label');
    expect(join(bobs!.batch, 'ann')).toThrow(InvalidArgumentError);
    expect(join(10_000, 'ann')).toThrow(/no such event/);
  });

  it('refuses captions that are empty, too long or of an unknown source, naming the value', () => {
    const add = (action: object) => () => store.act(a, { kind: 'add_caption', ...action } as never);
    expect(add({ caption: '   ' })).toThrow(InvalidArgumentError);
    expect(add({ caption: 'x'.repeat(10_001) })).toThrow(/at most 10000 characters/);
    expect(add({ caption: 'ok', source: 'oracle' })).toThrow(/one of human, import, model, vlm; got "oracle"/);
    expect(add({ caption: 'ok', author: '' })).toThrow(/author/);
    expect(store.events({ itemId: a })).toEqual([]); // nothing written
  });

  it('filters and counts items by caption, imported ones included', () => {
    store.act(b, { kind: 'add_caption', caption: 'imported', source: 'import', author: 'x.csv' });
    expect(store.items({ where: { hasCaption: true } }).map((item) => item.id)).toEqual([b]);
    expect(store.stats().captioned).toBe(1);
    const row = [...store.iterateItemRows({ ids: [b] })][0]!;
    expect(JSON.parse(row[20])).toEqual(store.item(b).captions);
  });
});

describe('a store made before captions were a list (schema 3)', () => {
  // Made by the store of commit 4efa878 (schema 3): a.jpg captioned by alice twice and then by bob, b.jpg's
  // caption undone, c.jpg labeled, captioned and the caption cleared, crops/d.jpg captioned by a VLM.
  const FIXTURE = path.join(__dirname, 'fixtures', 'v3-captions.db');
  let temp: ReturnType<typeof tempDir>;
  let file: string;
  beforeEach(() => {
    temp = tempDir();
    file = path.join(temp.dir, 'old.db');
    copyFileSync(FIXTURE, file);
  });
  afterEach(() => temp.cleanup());

  it('is migrated to the list of captions folded from its log, and keeps everything else', () => {
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(3);
    const eventsBefore = raw.prepare('SELECT * FROM events ORDER BY seq').all();
    raw.close();

    const store = LabelStore.open(file);
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(4);
      const byUri = Object.fromEntries(store.items().map((item) => [item.uri, item]));
      expect(byUri['a.jpg']!.caption).toBe('a tabby cat');
      expect(byUri['a.jpg']!.captions.map((c) => [c.text, c.source, c.author])).toEqual([
        ['a cat on a sofa', 'human', 'alice'],
        ['a tabby cat', 'human', 'bob'],
      ]);
      expect(byUri['b.jpg']).toMatchObject({ caption: null, captions: [] });
      expect(byUri['c.jpg']).toMatchObject({ caption: null, captions: [], label: 'cat' });
      expect(byUri['crops/d.jpg']!.captions.map((c) => [c.text, c.source, c.author])).toEqual([['model says', 'vlm', 'vlm-bot']]);
      expect(store.checkState()).toEqual([]);
      expect(store.classes().map((c) => [c.name, c.count])).toEqual([['cat', 1]]);
      expect(store.db.prepare('SELECT * FROM events ORDER BY seq').all()).toEqual(eventsBefore);
      // Undo still works on what the old store recorded: alice's last batch is c.jpg's cleared caption.
      store.undo('alice');
      expect(store.item(byUri['c.jpg']!.id).caption).toBe('a dog');
    } finally {
      store.close();
    }
  });

  it('reads its one caption as a list when opened read-only (not migrated), in items and export rows alike', () => {
    const reader = LabelStore.open(file, { readonly: true });
    try {
      const a = reader.items().find((item) => item.uri === 'a.jpg')!;
      expect(a.captions).toEqual([{ text: 'a tabby cat', source: 'human', author: 'unknown', time: 0 }]);
      const row = [...reader.iterateItemRows({ ids: [a.id] })][0]!;
      expect(JSON.parse(row[20])).toEqual(a.captions);
    } finally {
      reader.close();
    }
  });
});
