import { readFileSync } from 'node:fs';
import { Table, tableFromIPC } from 'apache-arrow';
import { InvalidArgumentError } from '../../src/errors';
import { CLASSES_METADATA_KEY, exportDataset, toArrowTable } from '../../src/export';
import { fromColumns } from './arrow-readers';
import { ALL_FIELDS, AWKWARD_CLASS, BIG_ANNOTATION_ID, UNICODE_CAPTION, embeddingsFor, expectedRows, makeDataset, path, tempDir, type Fixture } from './fixtures';

/** Rows of an in-process Table, in the readers' shape. */
function rowsOf(table: Table): ReturnType<typeof fromColumns>[] {
  const plain = (value: unknown): unknown => {
    if (value === null || value === undefined) return null;
    if (typeof value === 'bigint') return Number(value);
    if (typeof value === 'object' && typeof (value as { toArray?: unknown }).toArray === 'function') {
      return Array.from((value as { toArray: () => ArrayLike<unknown> }).toArray(), plain);
    }
    return value;
  };
  return Array.from({ length: table.numRows }, (_, i) =>
    fromColumns(Object.fromEntries(table.schema.fields.map((field) => [field.name, plain(table.getChild(field.name)!.get(i))]))),
  );
}

describe('ds.toArrow', () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await makeDataset('labeled');
  });
  afterAll(() => fixture?.cleanup());

  it('returns an apache-arrow Table with every field of the store, in record batches', async () => {
    const table = await fixture.ds.toArrow({ batchRows: 16 });
    expect(table).toBeInstanceOf(Table);
    expect(table.numRows).toBe(35);
    expect(table.batches.map((batch) => batch.numRows)).toEqual([16, 16, 3]);
    expect(rowsOf(table)).toEqual(expectedRows(fixture.ds.items(), ALL_FIELDS));
    expect(JSON.parse(table.schema.metadata.get(CLASSES_METADATA_KEY)!)).toEqual(['cat', 'dog', AWKWARD_CLASS, 'bird', 'unused']);
    const rows = rowsOf(table);
    expect(rows.find((row) => row.cocoAnnotationId === BIG_ANNOTATION_ID)).toMatchObject({ box: [1.5, 2, 30.25, 40], cocoImageId: 42, split: 'train' });
    expect(rows.find((row) => row.caption === UNICODE_CAPTION)!.tags).toEqual(['outdoor', 'blurry']);
  });

  it('filters as the rest of the API does', async () => {
    const humans = await fixture.ds.toArrow({ where: { labelSource: 'human' } });
    expect(rowsOf(humans)).toEqual(expectedRows(fixture.ds.items({ where: { labelSource: 'human' } }), ALL_FIELDS));
    const deleted = await fixture.ds.toArrow({ where: { deleted: true } });
    expect(deleted.numRows).toBe(1);
  });

  it('adds embeddings from a matrix or a loader, joined by id in any order, zero-copy when the rows line up', async () => {
    const embeddings = embeddingsFor(fixture.ds, 6);
    const table = await fixture.ds.toArrow({ embeddings: async () => embeddings });
    expect(String(table.schema.fields.at(-1)!.type)).toBe('FixedSizeList[6]<Float32>');
    expect(rowsOf(table)).toEqual(expectedRows(fixture.ds.items(), ALL_FIELDS, embeddings));

    // The same vectors listed in reverse order join to the same rows.
    const order = embeddings.ids.map((_, row) => row).reverse();
    const reversed = {
      ids: order.map((row) => embeddings.ids[row]!),
      dim: 6,
      vectors: Float32Array.from(order.flatMap((row) => Array.from(embeddings.vectors.subarray(row * 6, row * 6 + 6)))),
    };
    expect(rowsOf(await fixture.ds.toArrow({ embeddings: reversed }))).toEqual(rowsOf(table));

    // All of a batch present and contiguous: the column is a view of the caller's vectors, not a copy.
    const first = await fixture.ds.toArrow({ embeddings, batchRows: 10 });
    const child = first.batches[0]!.getChild('embedding')!.data[0]!.children[0]!;
    expect(child.values.buffer).toBe(embeddings.vectors.buffer);
  });

  it('refuses embeddings of the wrong shape, saying what was expected', async () => {
    await expect(fixture.ds.toArrow({ embeddings: { ids: [1, 2], dim: 4, vectors: new Float32Array(7) } })).rejects.toThrow(InvalidArgumentError);
    await expect(fixture.ds.toArrow({ embeddings: { ids: [1, 2], dim: 4, vectors: new Float32Array(7) } })).rejects.toThrow(/7 floats, expected ids \(2\) × dim \(4\) = 8/);
    await expect(fixture.ds.toArrow({ embeddings: () => Promise.reject(new Error('no cache')) })).rejects.toThrow(/could not load the embeddings to export: no cache/);
  });

  it('gives an empty dataset an empty table that still has every column', async () => {
    const empty = await makeDataset('empty');
    try {
      const table = await toArrowTable(empty.ds);
      expect(table.numRows).toBe(0);
      expect(table.schema.fields.map((field) => field.name)).toContain('coco_annotation_id');
    } finally {
      empty.cleanup();
    }
  });

  it('reads a snapshot: labeling goes on during an export, which writes the store as it was when it began', async () => {
    const work = tempDir();
    try {
      const target = fixture.ds.items({ where: { labeled: false }, limit: 1 })[0]!;
      const out = path.join(work.dir, 'snapshot.arrow');
      let labeledDuring = false;
      await exportDataset(fixture.ds, {
        format: 'arrow',
        out,
        batchRows: 5,
        onProgress: (progress) => {
          // A write on the dataset's own connection while the export's statement is open.
          if (progress.rows === 5 && !labeledDuring) {
            fixture.ds.label(target.id, 'late');
            labeledDuring = true;
          }
        },
      });
      expect(labeledDuring).toBe(true);
      const table = tableFromIPC(readFileSync(out));
      const row = rowsOf(table).find((r) => r.id === target.id)!;
      expect(row.label).toBeNull();
      expect(JSON.parse(table.schema.metadata.get(CLASSES_METADATA_KEY)!)).not.toContain('late');
      expect(fixture.ds.item(target.id).label).toBe('late');
    } finally {
      fixture.ds.undo();
      work.cleanup();
    }
  });
});
