import { readFileSync } from 'node:fs';
import { Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { exportDataset, itemSchema, toRecordBatch, type ExportSource } from '../../src/export';
import { ItemColumnsBuilder } from '../../src/export/item-columns';
import { openSnapshot } from '../../src/export/snapshot';
import { LabelStore, type ItemWithState } from '../../src/store';
import { AWKWARD_CLASS, UNICODE_CAPTION, makeDataset, path, tempDir, type Fixture } from './fixtures';

/** Every column batch of a snapshot, as IPC bytes of one table (the strictest comparison: buffer for buffer). */
async function columnTableBytes(store: LabelStore, batchRows: number): Promise<{ reader: string; sizes: number[]; bytes: Uint8Array }> {
  const snapshot = await openSnapshot(store, { where: {}, batchRows, input: 'columns' });
  try {
    const schema = itemSchema({ embeddingDim: null, classes: snapshot.classes });
    const batches = [];
    for await (const batch of snapshot.batches(null)) batches.push(toRecordBatch(schema, batch));
    return { reader: snapshot.reader, sizes: batches.map((b) => b.numRows), bytes: tableToIPC(new Table(schema, batches), 'stream') };
  } finally {
    await snapshot.close();
  }
}

/** The same, built on this thread from the store's items (the `toRecordBatch` of items). */
function itemTableBytes(store: LabelStore, batchRows: number): Uint8Array {
  const schema = itemSchema({ embeddingDim: null, classes: store.classes().map((c) => c.name) });
  const items = store.items();
  const batches = [];
  for (let start = 0; start < items.length; start += batchRows) batches.push(toRecordBatch(schema, { items: items.slice(start, start + batchRows), embeddings: null }));
  return tableToIPC(new Table(schema, batches), 'stream');
}

describe('the export snapshot', () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await makeDataset('labeled');
  });
  afterAll(() => fixture?.cleanup());

  it('reads column batches in a worker thread, byte for byte what the items make on this thread', async () => {
    const store = fixture.ds.store;
    for (const batchRows of [16, 7, 35, 1, 1000]) {
      const read = await columnTableBytes(store, batchRows);
      expect(read.reader).toBe('worker');
      // 35 rows: a batch size that divides it exactly ends on an empty read, which makes no batch.
      expect(read.sizes.reduce((a, b) => a + b, 0)).toBe(35);
      expect(read.sizes.every((size, i) => size === (i < read.sizes.length - 1 ? batchRows : 35 - batchRows * i))).toBe(true);
      expect(Buffer.from(read.bytes).equals(Buffer.from(itemTableBytes(store, batchRows)))).toBe(true);
    }
  });

  it('agrees on count, classes and rows, taken at one moment, while labeling goes on', async () => {
    const snapshot = await openSnapshot(fixture.ds.store, { where: { labeled: false }, batchRows: 4, input: 'columns' });
    const target = fixture.ds.items({ where: { labeled: false }, limit: 1 })[0]!;
    try {
      const count = fixture.ds.items({ where: { labeled: false } }).length;
      expect(snapshot.reader).toBe('worker');
      expect(snapshot.count).toBe(count);
      // Labeled on the dataset's own connection after the snapshot opened: neither blocked nor seen.
      fixture.ds.label(target.id, 'after-the-snapshot');
      let rows = 0;
      const ids: number[] = [];
      for await (const batch of snapshot.batches(null)) {
        rows += batch.columns!.length;
        ids.push(...batch.columns!.id);
      }
      expect(rows).toBe(count);
      expect(ids).toContain(target.id);
      expect(snapshot.classes).not.toContain('after-the-snapshot');
    } finally {
      await snapshot.close();
      fixture.ds.undo();
    }
  });

  it('reads item batches (WebDataset, COCO) on this thread', async () => {
    const snapshot = await openSnapshot(fixture.ds.store, { where: {}, batchRows: 10, input: 'items' });
    try {
      expect(snapshot.reader).toBe('main');
      const sizes: number[] = [];
      for await (const batch of snapshot.batches(null)) sizes.push(batch.items!.length);
      expect(sizes).toEqual([10, 10, 10, 5]);
    } finally {
      await snapshot.close();
    }
  });

  it('stops the reader thread when the export stops early, and the store stays writable', async () => {
    const snapshot = await openSnapshot(fixture.ds.store, { where: {}, batchRows: 2, input: 'columns' });
    const batches = snapshot.batches(null);
    await batches.next();
    await batches.return(undefined);
    await snapshot.close();
    const item = fixture.ds.items({ limit: 1 })[0]!;
    fixture.ds.caption(item.id, 'written after an early stop');
    expect(fixture.ds.item(item.id).caption).toBe('written after an early stop');
    fixture.ds.undo();
  });
});

describe('an in-memory store', () => {
  it('exports through its own connection, on this thread', async () => {
    const store = LabelStore.open(':memory:');
    const work = tempDir();
    try {
      store.upsertItems(
        ['a.jpg', 'b.jpg', 'c.jpg'].map((uri, i) => ({
          uri,
          width: 10 + i,
          height: 20,
          format: 'jpeg',
          bytes: 100,
          mtimeMs: 1,
          hash: `h${i}`,
          split: null,
          sourceUri: null,
          box: null,
          cocoImageId: null,
          cocoAnnotationId: null,
        })),
      );
      store.act(2, { kind: 'label', label: 'cat' });
      store.act(3, { kind: 'caption', caption: UNICODE_CAPTION });
      const source: ExportSource = { root: work.dir, store, pathOf: (item) => path.join(work.dir, item.uri) };
      const snapshot = await openSnapshot(store, { where: {}, batchRows: 2, input: 'columns' });
      expect(snapshot.reader).toBe('main');
      await snapshot.close();

      const out = path.join(work.dir, 'memory.arrow');
      const report = await exportDataset(source, { format: 'arrow', out, batchRows: 2 });
      expect(report.rows).toBe(3);
      const table = tableFromIPC(readFileSync(out));
      expect(table.batches.map((b) => b.numRows)).toEqual([2, 1]);
      expect(table.getChild('uri')!.toArray()).toEqual(['a.jpg', 'b.jpg', 'c.jpg']);
      expect(table.getChild('label')!.toArray()).toEqual([null, 'cat', null]);
      expect(table.getChild('caption')!.get(2)).toBe(UNICODE_CAPTION);
    } finally {
      store.close();
      work.cleanup();
    }
  });
});

describe('ItemColumnsBuilder', () => {
  const item = (id: number, tags: string[], text: string | null): ItemWithState => ({
    id,
    uri: `${text ?? ''}/${id}.jpg`,
    width: 1,
    height: 2,
    format: 'jpeg',
    bytes: 3,
    hash: 'h',
    split: text,
    sourceUri: null,
    box: id % 2 ? [1, 2, 3, 4] : null,
    cocoImageId: id % 2 ? 2 ** 40 + id : null,
    cocoAnnotationId: null,
    missing: false,
    label: text,
    labelSource: text === null ? null : 'human',
    confidence: id % 3 ? id / 8 : null,
    labeledBy: null,
    skipped: false,
    dontKnow: false,
    caption: text,
    captions: text === null ? [] : [{ text, source: 'human', author: 'local', time: 1 }, { text: `${text} (imported)`, source: 'import', author: 'captions.json', time: 2 }],
    tags,
    deleted: false,
    version: 0,
  });

  it('grows the tag list past its first guess, and keeps Unicode and nulls, the same from rows as from items', () => {
    const items = [
      item(1, Array.from({ length: 40 }, (_, i) => `tag ${i} 🐝`), UNICODE_CAPTION),
      item(2, [], null),
      item(3, ['x', AWKWARD_CLASS], 'plain'),
    ];
    const fromItems = new ItemColumnsBuilder(3);
    for (const it of items) fromItems.addItem(it);
    const fromRows = new ItemColumnsBuilder(8);
    for (const it of items) {
      fromRows.addRow([
        it.id, it.uri, it.format, it.width, it.height, it.hash, it.split, it.label, it.labelSource, it.confidence, it.labeledBy, it.caption,
        JSON.stringify(it.tags), it.sourceUri, it.box?.[0] ?? null, it.box?.[1] ?? null, it.box?.[2] ?? null, it.box?.[3] ?? null,
        it.cocoImageId, it.cocoAnnotationId, JSON.stringify(it.captions),
      ]);
    }
    const schema = itemSchema({ embeddingDim: null, classes: [] });
    const a = new Table(schema, toRecordBatch(schema, { columns: fromItems.finish(), embeddings: null }));
    const b = new Table(schema, toRecordBatch(schema, { columns: fromRows.finish(), embeddings: null }));
    expect(Buffer.from(tableToIPC(a)).equals(Buffer.from(tableToIPC(b)))).toBe(true);
    expect(b.getChild('tags')!.get(0)!.toArray()).toEqual(items[0]!.tags);
    expect(b.getChild('tags')!.get(2)!.toArray()).toEqual(['x', AWKWARD_CLASS]);
    expect(b.getChild('caption')!.toArray()).toEqual([UNICODE_CAPTION, null, 'plain']);
    expect(b.getChild('captions')!.get(0)!.toArray()).toEqual([UNICODE_CAPTION, `${UNICODE_CAPTION} (imported)`]);
    expect(b.getChild('captions')!.get(1)!.toArray()).toEqual([]);
    expect([...b.getChild('coco_image_id')!]).toEqual([BigInt(2 ** 40 + 1), null, BigInt(2 ** 40 + 3)]);
    expect([...b.getChild('confidence')!]).toEqual([1 / 8, 2 / 8, null]);
    expect(() => fromItems.addItem(items[0]!)).toThrow(/full/);
  });
});
