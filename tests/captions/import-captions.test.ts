import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { importCaptions } from '../../src/captions';
import { CocoFormatError, InvalidArgumentError } from '../../src/errors';
import { LabelStore, type ItemRecord } from '../../src/store';
import { tempDir } from '../helpers/fixtures';

function record(uri: string, sourceUri: string | null = null): ItemRecord {
  return {
    uri, width: 10, height: 10, format: 'jpeg', bytes: 1, mtimeMs: 1, hash: uri, split: null, sourceUri, box: sourceUri ? [0, 0, 5, 5] : null,
    cocoImageId: null, cocoAnnotationId: null,
  };
}

describe('importCaptions', () => {
  let temp: ReturnType<typeof tempDir>;
  let store: LabelStore;
  let root: string;
  let ids: Record<string, number>;
  const coco = (images: [number, string][], annotations: [number, unknown][]) => {
    const file = path.join(temp.dir, 'captions.json');
    writeFileSync(file, JSON.stringify({ images: images.map(([id, file_name]) => ({ id, file_name })), annotations: annotations.map(([image_id, caption], i) => ({ id: i + 1, image_id, caption })) }));
    return file;
  };

  beforeEach(() => {
    temp = tempDir();
    root = path.join(temp.dir, 'data');
    store = LabelStore.open(path.join(temp.dir, 'store.db'));
    const uris = ['a/x.jpg', 'b/x.jpg', 'y.jpg', 'crops/y-1.jpg', 'z.jpg'];
    const made = store.upsertItems(uris.map((uri) => record(uri, uri === 'crops/y-1.jpg' ? 'y.jpg' : null)));
    ids = Object.fromEntries(uris.map((uri, i) => [uri, made[i]!]));
    store.act(ids['z.jpg']!, { kind: 'delete' });
  });
  afterEach(() => {
    store.close();
    temp.cleanup();
  });

  it('matches by path, then by a file name only one whole image has; never crops, deleted items or two images of one name', async () => {
    const file = coco(
      [[1, 'x.jpg'], [2, 'y.jpg'], [3, 'z.jpg'], [4, 'a/x.jpg'], [5, '../y.jpg']],
      [[1, 'ambiguous'], [2, 'a whole scene'], [3, 'deleted'], [4, 'by path'], [5, 'outside'], [9, 'no image'], [2, 42]],
    );
    const report = await importCaptions({ root, store, user: 'ann' }, { file });
    expect(report).toMatchObject({ rows: 5, added: 2, itemsMatched: 2, unmatched: 2, unmatchedNames: ['x.jpg (several items of that name)', 'z.jpg'], problemCount: 3 });
    expect(report.problems.map((p) => [p.where, p.field])).toEqual([
      ['annotations[5]', 'image_id'],
      ['annotations[6]', 'caption'],
      ['annotations[4]', 'file_name'],
    ]);
    expect(store.item(ids['y.jpg']!).captions).toMatchObject([{ text: 'a whole scene', source: 'import', author: 'captions.json' }]);
    expect(store.item(ids['crops/y-1.jpg']!).captions).toEqual([]);
    expect(store.item(ids['a/x.jpg']!).caption).toBe('by path');
    expect(store.item(ids['b/x.jpg']!).captions).toEqual([]);
  });

  it('writes in chunks that are one batch: one undo takes back the whole import; the events carry who acted', async () => {
    const file = coco([[1, 'y.jpg'], [2, 'a/x.jpg']], [[1, 'one'], [1, 'two'], [1, 'two'], [2, 'three'], [2, 'four'], [1, 'five']]);
    const progress: number[] = [];
    const report = await importCaptions({ root, store, user: 'ann' }, { file, source: 'model', chunkRows: 2, onProgress: (p) => progress.push(p.done) });
    expect(report).toMatchObject({ added: 5, alreadyPresent: 1, source: 'model' });
    expect(progress).toEqual([0, 2, 4, 5]);
    const events = store.events().filter((e) => e.kind === 'add_caption');
    expect(new Set(events.map((e) => e.batch))).toEqual(new Set([report.batch]));
    expect(events.every((e) => e.user === 'ann' && e.source === 'model')).toBe(true);
    expect(store.undo('ann')).toHaveLength(5);
    expect(store.item(ids['y.jpg']!).captions).toEqual([]);
    expect(store.checkState()).toEqual([]);
  });

  it('refuses a file of no known format, an unknown source, or a file that is not COCO captions, before writing anything', async () => {
    const text = path.join(temp.dir, 'captions.txt');
    writeFileSync(text, 'hello');
    await expect(importCaptions({ root, store }, { file: text })).rejects.toThrow(InvalidArgumentError);
    await expect(importCaptions({ root, store }, { file: text, format: 'coco' })).rejects.toThrow(CocoFormatError);
    const file = coco([[1, 'y.jpg']], [[1, 'fine']]);
    await expect(importCaptions({ root, store }, { file, source: 'oracle' as never })).rejects.toThrow(/one of human, import, model, vlm/);
    writeFileSync(file, JSON.stringify({ images: {}, annotations: [] }));
    await expect(importCaptions({ root, store }, { file })).rejects.toMatchObject({ field: 'images' });
    expect(store.events().filter((e) => e.kind === 'add_caption')).toEqual([]);
  });
});
