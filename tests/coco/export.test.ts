import { readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportCoco, importCoco, REJECTED_KEY } from '../../src/coco';
import { DatasetError, OutputError } from '../../src/errors';
import type { LabelStore } from '../../src/store';
import { tempDir } from '../helpers/fixtures';
import { readJson, SAMPLE_ANNOTATIONS, SAMPLE_IMAGES, sample, sampleDetections, storeIn, type SampleFile } from './helpers';

type Annotation = Record<string, unknown> & { id?: number };

/** Annotations of two files that differ, by id (results: position + 1). */
function differences(before: Annotation[], after: Annotation[]): Map<number, [Annotation | undefined, Annotation | undefined]> {
  const key = (a: Annotation, index: number) => a.id ?? index + 1;
  const left = new Map(before.map((a, i) => [key(a, i), a]));
  const right = new Map(after.map((a, i) => [key(a, i), a]));
  const changed = new Map<number, [Annotation | undefined, Annotation | undefined]>();
  for (const id of new Set([...left.keys(), ...right.keys()])) {
    if (JSON.stringify(left.get(id)) !== JSON.stringify(right.get(id))) changed.set(id, [left.get(id), right.get(id)]);
  }
  return changed;
}

describe('exportCoco', () => {
  let temp: ReturnType<typeof tempDir>;
  let out: string;
  let store: LabelStore;
  beforeEach(() => {
    temp = tempDir();
    out = path.join(temp.dir, 'crops');
    store = storeIn(out);
  });
  afterEach(() => {
    store.close();
    temp.cleanup();
  });

  const byAnnotation = (id: number) => store.items({ where: { deleted: undefined } }).find((i) => i.cocoAnnotationId === id)!;

  it('writes the input byte for byte when nothing was corrected (a model label, skip or "don\'t know" is no correction)', async () => {
    await importCoco(store, out, { annotations: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES });
    const [a, b, c] = store.items({ limit: 3 });
    store.act(a!.id, { kind: 'label', label: 'zebra' }, { source: 'model', confidence: 0.9 });
    store.act(b!.id, { kind: 'skip' });
    store.act(c!.id, { kind: 'dont_know' });
    const output = path.join(temp.dir, 'cleaned.json');
    const report = await exportCoco(store, { output });
    expect(report).toMatchObject({ records: 276, relabeled: 0, rejected: 0, newCategories: [], notFound: [] });
    expect(readFileSync(output).equals(readFileSync(SAMPLE_ANNOTATIONS))).toBe(true);
  });

  it('changes exactly the relabeled and rejected annotations, appending new classes as categories', async () => {
    await importCoco(store, out, { annotations: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES });
    const truth = sample();
    const [first, second, third, fourth, fifth] = truth.annotations;
    const giraffe = truth.categories.find((c) => c.name === 'giraffe')!;
    store.act(byAnnotation(first!.id).id, { kind: 'label', label: 'giraffe' });
    store.act(byAnnotation(second!.id).id, { kind: 'label', label: 'unicycle' });
    store.act(byAnnotation(third!.id).id, { kind: 'delete' });
    // Relabeled to its own class: no change. Relabeled, then rejected: rejected.
    const own = truth.categories.find((c) => c.id === fourth!.category_id)!.name;
    store.act(byAnnotation(fourth!.id).id, { kind: 'label', label: own });
    store.act(byAnnotation(fifth!.id).id, { kind: 'label', label: 'giraffe' });
    store.act(byAnnotation(fifth!.id).id, { kind: 'delete' });

    const output = path.join(temp.dir, 'cleaned.json');
    const report = await exportCoco(store, { output });
    expect(report).toMatchObject({ records: 276, relabeled: 2, rejected: 2, newCategories: [{ id: 91, name: 'unicycle' }], categoriesNotWritten: false });
    const cleaned = readJson<SampleFile & { info: unknown; licenses: unknown }>(output);
    const original = readJson<SampleFile & { info: unknown; licenses: unknown }>(SAMPLE_ANNOTATIONS);
    expect(cleaned.images).toEqual(original.images);
    expect(cleaned.info).toEqual(original.info);
    expect(cleaned.licenses).toEqual(original.licenses);
    expect(cleaned.categories).toEqual([...original.categories, { id: 91, name: 'unicycle', supercategory: 'quicksort' }]);
    const changed = differences(original.annotations, cleaned.annotations);
    expect([...changed.keys()].sort()).toEqual([first!.id, second!.id, third!.id, fifth!.id].sort());
    expect(changed.get(first!.id)![1]).toEqual({ ...first, category_id: giraffe.id });
    expect(changed.get(second!.id)![1]).toEqual({ ...second, category_id: 91 });
    expect(changed.get(third!.id)![1]).toBeUndefined();
    expect(cleaned.annotations).toHaveLength(274);

    const flagged = path.join(temp.dir, 'flagged.json');
    expect(await exportCoco(store, { output: flagged, rejected: 'flag' })).toMatchObject({ rejected: 2, rejectedAs: 'flag' });
    const kept = readJson<SampleFile>(flagged).annotations;
    expect(kept).toHaveLength(276);
    expect(kept.find((a) => a.id === third!.id)).toEqual({ ...third, [REJECTED_KEY]: true });
    expect(differences(original.annotations, kept).size).toBe(4);

    // Undo restores the original: the file comes back byte for byte.
    for (let i = 0; i < 6; i++) store.undo('local');
    await expect(exportCoco(store, { output })).rejects.toThrow(/cleaned\.json already exists; pass --force/);
    await exportCoco(store, { output, force: true });
    expect(readFileSync(output).equals(readFileSync(SAMPLE_ANNOTATIONS))).toBe(true);
  });

  it('removes the first records of an array cleanly, and keeps the rest of a results file as it was', async () => {
    const file = path.join(temp.dir, 'detections.json');
    // Pretty-printed, to check that removals keep valid JSON whatever the whitespace.
    writeFileSync(file, JSON.stringify(sampleDetections(), null, 2));
    await importCoco(store, out, { predictions: file, annotations: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES, minConfidence: 0.5 });
    const ids = store.items().map((i) => i.cocoAnnotationId!).sort((a, b) => a - b);
    const rejected = ids.slice(0, 3);
    for (const id of rejected) store.act(byAnnotation(id).id, { kind: 'delete' });
    const relabeled = ids[5]!;
    store.act(byAnnotation(relabeled).id, { kind: 'label', label: 'scooter' });
    const output = path.join(temp.dir, 'cleaned.json');
    const report = await exportCoco(store, { output });
    expect(report).toMatchObject({ kind: 'results', relabeled: 1, rejected: 3, newCategories: [{ id: 91, name: 'scooter' }], categoriesNotWritten: true });
    const original = readJson<Annotation[]>(file);
    const cleaned = readJson<Annotation[]>(output);
    expect(cleaned).toHaveLength(original.length - 3);
    const expected = original.flatMap((detection, index) =>
      rejected.includes(index + 1) ? [] : [index + 1 === relabeled ? { ...detection, category_id: 91 } : detection],
    );
    expect(cleaned).toEqual(expected);
  });

  it('writes a corrected class in the file\'s own convention (Detectron2 contiguous ids)', async () => {
    const truth = sample();
    const sorted = truth.categories.map((c) => c.id).sort((a, b) => a - b);
    const file = path.join(temp.dir, 'detectron2.json');
    const detections = sampleDetections().map((d) => ({ ...d, category_id: sorted.indexOf(d.category_id) }));
    writeFileSync(file, JSON.stringify(detections));
    await importCoco(store, out, { predictions: file, annotations: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES, minConfidence: 0.9 });
    const item = store.items()[0]!;
    store.act(item.id, { kind: 'label', label: 'toothbrush' });
    store.act(store.items()[1]!.id, { kind: 'label', label: 'scooter' });
    const output = path.join(temp.dir, 'cleaned.json');
    await exportCoco(store, { output });
    const cleaned = readJson<Annotation[]>(output);
    expect(cleaned[item.cocoAnnotationId! - 1]!.category_id).toBe(79);
    expect(cleaned[store.items()[1]!.cocoAnnotationId! - 1]!.category_id).toBe(80);
    expect(differences(detections, cleaned).size).toBe(2);
  });

  it('refuses to export from a changed or missing original, over the original, or without an import', async () => {
    const empty = storeIn(path.join(temp.dir, 'empty'));
    await expect(exportCoco(empty, { output: path.join(temp.dir, 'x.json') })).rejects.toThrow(DatasetError);
    empty.close();

    const copy = path.join(temp.dir, 'instances.json');
    writeFileSync(copy, readFileSync(SAMPLE_ANNOTATIONS));
    await importCoco(store, out, { annotations: copy, images: SAMPLE_IMAGES });
    await expect(exportCoco(store, { output: copy, force: true })).rejects.toThrow(OutputError);
    const output = path.join(temp.dir, 'cleaned.json');

    const text = readFileSync(copy, 'utf8');
    writeFileSync(copy, text.replace('"iscrowd": 0', '"iscrowd": 1'));
    await expect(exportCoco(store, { output })).rejects.toThrow(/other content than the file imported/);
    writeFileSync(copy, `${text} `);
    await expect(exportCoco(store, { output })).rejects.toThrow(/changed since import/);
    writeFileSync(copy, text);

    const moved = path.join(temp.dir, 'moved.json');
    renameSync(copy, moved);
    await expect(exportCoco(store, { output })).rejects.toThrow(/pass its new place with --source/);
    await exportCoco(store, { output, source: moved });
    expect(readFileSync(output, 'utf8')).toBe(text);
  });

  it('never writes over the original through a symlink, nor over the dataset, and leaves no temporary behind', async () => {
    const copy = path.join(temp.dir, 'instances.json');
    writeFileSync(copy, readFileSync(SAMPLE_ANNOTATIONS));
    await importCoco(store, out, { annotations: copy, images: SAMPLE_IMAGES, minSize: 100 });
    store.act(store.items()[0]!.id, { kind: 'delete' });
    const original = readFileSync(copy);
    const linked = path.join(temp.dir, 'latest.json');
    symlinkSync(copy, linked);
    await expect(exportCoco(store, { output: linked, force: true })).rejects.toThrow(/latest\.json \(which leads to .*instances\.json\) would overwrite the COCO file the dataset was imported from/);
    await expect(exportCoco(store, { output: store.file, force: true })).rejects.toThrow(/would overwrite the dataset's store/);
    const crop = path.join(out, store.items()[0]!.uri);
    await expect(exportCoco(store, { output: crop, force: true })).rejects.toThrow(/would overwrite the image of item/);
    expect(readFileSync(copy).equals(original)).toBe(true);

    // Moved: its new place is protected too.
    const moved = path.join(temp.dir, 'moved.json');
    renameSync(copy, moved);
    symlinkSync(moved, path.join(temp.dir, 'moved-link.json'));
    await expect(exportCoco(store, { output: path.join(temp.dir, 'moved-link.json'), source: moved, force: true })).rejects.toThrow(/the original COCO file/);

    // A failed export (the original changed) removes its temporary file; the output folder holds only what it held.
    writeFileSync(moved, original.toString('utf8').replace('"iscrowd": 0', '"iscrowd": 1'));
    await expect(exportCoco(store, { output: path.join(temp.dir, 'cleaned.json'), source: moved })).rejects.toThrow(/other content/);
    expect(readdirSync(temp.dir).sort()).toEqual(['crops', 'latest.json', 'moved-link.json', 'moved.json']);
  });
});
