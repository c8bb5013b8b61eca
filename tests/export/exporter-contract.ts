import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ExportError, InvalidArgumentError } from '../../src/errors';
import { exportDataset, getExporter, type ExportFormat, type ExportOptions, type ExportReport } from '../../src/export';
import {
  AWKWARD_CLASS,
  UNICODE_CAPTION,
  embeddingsFor,
  expectedRows,
  listing,
  makeDataset,
  path,
  tempDir,
  type ExportedRow,
  type Field,
  type Fixture,
} from './fixtures';

/** How one format is read back, by a reader other than the writer, and which fields it carries. */
export interface ExporterSpec {
  format: ExportFormat;
  /** Where to write in `dir` (a file name, or a folder for folder formats). */
  outName: string;
  /** The fields this format carries, compared one by one with the store. */
  fields: Field[];
  /** Reads the output back into rows in id order; `fixture` gives access to the dataset (e.g. its images). */
  readBack: (out: string, fixture: Fixture) => Promise<ExportedRow[]> | ExportedRow[];
  /** The class list the output declares, in class-index order. */
  readClasses: (out: string) => string[];
  /** Extra options for every export of this spec (e.g. a compression). */
  options?: Partial<ExportOptions>;
  /** Whether the format takes an embedding column. */
  embeddings?: boolean;
}

/**
 * The contract every exporter passes (hono's `common.case.test.ts` pattern): the same cases, each format
 * read back by an independent reader and compared field by field with the store.
 */
export function exporterContract(spec: ExporterSpec): void {
  const exporter = getExporter(spec.format);
  const run = (fixture: Fixture, out: string, extra: Partial<ExportOptions> = {}): Promise<ExportReport> =>
    exportDataset(fixture.ds, { format: spec.format, out, ...spec.options, ...extra });

  describe(`the ${spec.format} exporter (contract)`, () => {
    let labeled: Fixture;
    let work: ReturnType<typeof tempDir>;
    beforeAll(async () => {
      labeled = await makeDataset('labeled');
      work = tempDir('quicksort-export-out-');
    });
    afterAll(() => {
      labeled?.cleanup();
      work?.cleanup();
    });
    let counter = 0;
    const fresh = () => {
      const dir = path.join(work.dir, `case-${++counter}`);
      mkdirSync(dir);
      return { dir, out: path.join(dir, spec.outName) };
    };

    it('writes every item of the sample dataset, read back field by field equal to the store', async () => {
      const { dir, out } = fresh();
      const report = await run(labeled, out);
      const items = labeled.ds.items();
      expect(items).toHaveLength(35); // 36 ingested, one deleted
      expect(report).toMatchObject({ format: spec.format, output: out, rows: 35, skippedCount: 0, viaCocoBridge: false });
      expect(report.bytes).toBeGreaterThan(0);
      const rows = await spec.readBack(out, labeled);
      expect(rows).toEqual(expectedRows(items, spec.fields));
      const classes = labeled.ds.classes().map((c) => c.name);
      expect(classes).toEqual(['cat', 'dog', AWKWARD_CLASS, 'bird', 'unused']);
      expect(spec.readClasses(out)).toEqual(classes);
      expect(report.classes).toEqual(classes);
      expect(listing(dir)).toEqual([spec.outName]); // no temporary file left beside it
    });

    it('keeps captions with Unicode and line breaks, and a class named with file-name metacharacters, byte for byte', async () => {
      const { out } = fresh();
      await run(labeled, out);
      const rows = await spec.readBack(out, labeled);
      const captioned = rows.find((row) => row.caption === UNICODE_CAPTION);
      expect(captioned).toBeDefined();
      if (spec.fields.includes('tags')) expect(captioned!.tags).toEqual(['outdoor', 'blurry']);
      const awkward = rows.filter((row) => row.label === AWKWARD_CLASS);
      expect(awkward).toHaveLength(1);
      expect(awkward[0]!.labelSource).toBe('human');
    });

    it('honours the same filter as the rest of the API', async () => {
      const { out } = fresh();
      const report = await run(labeled, out, { where: { label: 'dog' } });
      expect(report.rows).toBe(5);
      const rows = await spec.readBack(out, labeled);
      expect(rows).toEqual(expectedRows(labeled.ds.items({ where: { label: 'dog' } }), spec.fields));
      expect(rows.every((row) => row.labelSource === 'model' && row.confidence === 0.8125)).toBe(true);
    });

    it('writes a valid, empty output for an empty dataset', async () => {
      const empty = await makeDataset('empty');
      try {
        const { out } = fresh();
        const report = await run(empty, out);
        expect(report.rows).toBe(0);
        expect(await spec.readBack(out, empty)).toEqual([]);
        expect(spec.readClasses(out)).toEqual([]);
      } finally {
        empty.cleanup();
      }
    });

    it('writes a dataset nobody labeled, with no labels and no classes', async () => {
      const unlabeled = await makeDataset('unlabeled');
      try {
        const { out } = fresh();
        const report = await run(unlabeled, out);
        expect(report.rows).toBe(36);
        const rows = await spec.readBack(out, unlabeled);
        expect(rows).toEqual(expectedRows(unlabeled.ds.items(), spec.fields));
        expect(rows.every((row) => row.label === null)).toBe(true);
        expect(spec.readClasses(out)).toEqual([]);
      } finally {
        unlabeled.cleanup();
      }
    });

    it('refuses an output that exists unless forced, and then replaces it', async () => {
      const { dir, out } = fresh();
      if (exporter.target === 'folder') {
        mkdirSync(out);
        writeFileSync(path.join(out, 'classes.txt'), 'old\n');
      } else {
        writeFileSync(out, 'precious');
      }
      const refused = run(labeled, out);
      await expect(refused).rejects.toThrow(ExportError);
      await expect(refused).rejects.toThrow(/already exists; pass --force/);
      if (exporter.target === 'folder') expect(readFileSync(path.join(out, 'classes.txt'), 'utf8')).toBe('old\n');
      else expect(readFileSync(out, 'utf8')).toBe('precious');
      expect(listing(dir)).toEqual([spec.outName]);

      const report = await run(labeled, out, { force: true });
      expect(report.rows).toBe(35);
      expect(await spec.readBack(out, labeled)).toHaveLength(35);
      expect(listing(dir)).toEqual([spec.outName]);
    });

    it('says clearly when the target folder cannot be written (even as root), before any work', async () => {
      const { dir } = fresh();
      const blocker = path.join(dir, 'a-file');
      writeFileSync(blocker, 'not a folder');
      const out = path.join(blocker, 'sub', spec.outName);
      let progressed = false;
      const failed = run(labeled, out, { onProgress: () => (progressed = true) });
      await expect(failed).rejects.toThrow(ExportError);
      await expect(failed).rejects.toThrow(/cannot create the output folder .*a part of the path is a file/);
      expect(progressed).toBe(false);
      expect(listing(dir)).toEqual(['a-file']);
    });

    it('leaves nothing behind when it fails half-way', async () => {
      const { dir, out } = fresh();
      let batches = 0;
      const failed = run(labeled, out, {
        batchRows: 4,
        onProgress: (progress) => {
          if (progress.rows > 0 && ++batches === 3) throw new Error('disk on fire');
        },
      });
      await expect(failed).rejects.toThrow(/disk on fire/);
      expect(batches).toBe(3);
      expect(listing(dir)).toEqual([]);
    });

    it('stops when its signal aborts, leaving nothing behind', async () => {
      const { dir, out } = fresh();
      const controller = new AbortController();
      const failed = run(labeled, out, {
        batchRows: 4,
        signal: controller.signal,
        onProgress: (progress) => {
          if (progress.rows >= 8) controller.abort();
        },
      });
      await expect(failed).rejects.toThrow(/cancelled/);
      expect(listing(dir)).toEqual([]);
      expect(existsSync(out)).toBe(false);
    });

    if (spec.embeddings) {
      it('adds the embedding column, null for an item without a vector', async () => {
        const { out } = fresh();
        const embeddings = embeddingsFor(labeled.ds);
        const report = await run(labeled, out, { embeddings });
        expect(report.embeddingDim).toBe(8);
        const rows = await spec.readBack(out, labeled);
        expect(rows).toEqual(expectedRows(labeled.ds.items(), spec.fields, embeddings));
        expect(rows[rows.length - 1]!.embedding).toBeNull();
      });
    } else {
      it('refuses embeddings, which the format has no place for', async () => {
        const { dir, out } = fresh();
        await expect(run(labeled, out, { embeddings: embeddingsFor(labeled.ds) })).rejects.toThrow(InvalidArgumentError);
        expect(listing(dir)).toEqual([]);
      });
    }
  });
}
