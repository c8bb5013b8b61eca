// The COCO round trip from code, on the bundled sample. Run from the repository root after `npm run build`:
//   node examples/coco-roundtrip/library.js
const { mkdirSync, mkdtempSync, readFileSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { QuickSort } = require('../../dist');
const { readCocoFile } = require('../../dist/coco');

const repo = path.join(__dirname, '..', '..');
const annotations = path.join(repo, 'examples', 'sample', 'annotations', 'instances_val2017.json');
const images = path.join(repo, 'examples', 'sample', 'images');

(async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'quicksort-coco-example-'));
  try {
    // Stream the file: records one by one, annotations with their box read straight from the bytes.
    let boxes = 0;
    for await (const record of readCocoFile(annotations)) if (record.section === 'annotations') boxes++;
    console.log(`${annotations}: ${boxes} boxes`);

    const crops = path.join(work, 'crops');
    mkdirSync(crops);
    const ds = await QuickSort.open(crops);
    const report = await ds.importCoco({ annotations, images, padding: 0.1 });
    console.log(`imported: ${report.kept} crops on ${report.images} images, ${report.skipped} bad records skipped`);

    // Corrections: every crop suggested as a "person" is really a "mannequin"; the first "car" is no object.
    const people = ds.items({ where: { label: 'person' } });
    ds.labelMany(people.map((item) => ({ id: item.id, label: 'mannequin' })));
    const [car] = ds.items({ where: { label: 'car' }, limit: 1 });
    if (car) ds.delete(car.id);

    const output = path.join(work, 'cleaned.json');
    const exported = await ds.exportCoco({ output });
    console.log(`exported: ${exported.relabeled} relabeled, ${exported.rejected} rejected, new categories ${JSON.stringify(exported.newCategories)}`);
    const cleaned = JSON.parse(readFileSync(output, 'utf8'));
    console.log(`cleaned file: ${cleaned.annotations.length} annotations, last category ${JSON.stringify(cleaned.categories.at(-1))}`);
    ds.close();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
})();
