import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { exportDataset } from '../../src/export';
import { readArrowInChild, fromColumns } from './arrow-readers';
import { exporterContract } from './exporter-contract';
import { ALL_FIELDS, makeDataset, path, tempDir, type Fixture } from './fixtures';

function bytesAt(file: string, position: number, length: number): string {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, position);
    return buffer.toString('latin1');
  } finally {
    closeSync(fd);
  }
}

exporterContract({
  format: 'arrow',
  outName: 'items.arrow',
  fields: ALL_FIELDS,
  embeddings: true,
  readBack: (out) => readArrowInChild(out).rows.map(fromColumns),
  readClasses: (out) => readArrowInChild(out).classes,
});

exporterContract({
  format: 'arrow-stream',
  outName: 'items.arrows',
  fields: ALL_FIELDS,
  embeddings: true,
  readBack: (out) => readArrowInChild(out).rows.map(fromColumns),
  readClasses: (out) => readArrowInChild(out).classes,
});

describe('Arrow IPC files', () => {
  let fixture: Fixture;
  let work: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    fixture = await makeDataset('labeled');
    work = tempDir();
  });
  afterAll(() => {
    fixture?.cleanup();
    work?.cleanup();
  });

  it('writes the file format (ARROW1 magic at both ends) and the stream format (continuation marker), in record batches', async () => {
    const file = path.join(work.dir, 'a.arrow');
    const stream = path.join(work.dir, 'a.arrows');
    await exportDataset(fixture.ds, { format: 'arrow', out: file, batchRows: 10 });
    await exportDataset(fixture.ds, { format: 'arrow-stream', out: stream, batchRows: 10 });
    expect(bytesAt(file, 0, 6)).toBe('ARROW1');
    expect(bytesAt(file, statSync(file).size - 6, 6)).toBe('ARROW1');
    expect(bytesAt(stream, 0, 4)).toBe('\xff\xff\xff\xff');
    const back = readArrowInChild(file);
    expect(back.batches).toBe(4); // 35 rows in batches of 10
    expect(readArrowInChild(stream).batches).toBe(4);
  });

  it('types the columns for readers: Int32 ids, Int64 COCO ids, List<Utf8> tags and captions, FixedSizeList boxes and embeddings', async () => {
    const file = path.join(work.dir, 'types.arrow');
    const dim = 4;
    await exportDataset(fixture.ds, { format: 'arrow', out: file, embeddings: async () => ({ ids: [1], dim, vectors: new Float32Array([1, 2, 3, 4]) }) });
    const { types, rows } = readArrowInChild(file);
    expect(types).toMatchObject({
      id: 'Int32',
      width: 'Int32',
      confidence: 'Float64',
      tags: 'List<Utf8>',
      captions: 'List<Utf8>',
      box: 'FixedSizeList[4]<Float64>',
      coco_image_id: 'Int64',
      coco_annotation_id: 'Int64',
      embedding: 'FixedSizeList[4]<Float32>',
    });
    expect(rows[0]!.embedding).toEqual([1, 2, 3, 4]);
    expect(rows.slice(1).every((row) => row.embedding === null)).toBe(true);
  });
});
