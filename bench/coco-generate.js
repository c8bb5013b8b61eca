#!/usr/bin/env node
// Writes a large COCO instances file by repeating the real COCO val2014 ground truth of
// tests/coco/fixtures (100 images, 839 annotations, polygons and RLE) with fresh ids.
//
//   node bench/coco-generate.js OUT.json [--copies 900]
//
// 900 copies give 90k images and 755k annotations in ~455 MB: the size of COCO train2017's instances file
// (448 MB), and under V8's 512 MB string limit so that JSON.parse can still be measured against it.
const { createWriteStream, readFileSync } = require('node:fs');
const path = require('node:path');

/** JSON with Python's default separators (", " and ": "), as the fixture and pycocotools' writers use. */
const pythonic = (value) => JSON.stringify(value).replace(/,/g, ', ').replace(/":/g, '": ');

function generate(out, copies, template = path.join(__dirname, '..', 'tests', 'coco', 'fixtures', 'instances_val2014_100.json')) {
  const source = JSON.parse(readFileSync(template, 'utf8'));
  const stream = createWriteStream(out);
  const write = (text) => (stream.write(text) ? Promise.resolve() : new Promise((resolve) => stream.once('drain', resolve)));
  return (async () => {
    await write(`{"info": ${pythonic(source.info)}, "licenses": ${pythonic(source.licenses)}, "images": [`);
    let first = true;
    for (let copy = 0; copy < copies; copy++) {
      const parts = source.images.map((image) =>
        pythonic({ ...image, id: image.id + copy * 10_000_000, file_name: `gen${copy}_${image.file_name}` }),
      );
      await write((first ? '' : ', ') + parts.join(', '));
      first = false;
    }
    await write('], "annotations": [');
    let id = 1;
    first = true;
    for (let copy = 0; copy < copies; copy++) {
      const parts = source.annotations.map((annotation) =>
        pythonic({ ...annotation, image_id: annotation.image_id + copy * 10_000_000, id: id++ }),
      );
      await write((first ? '' : ', ') + parts.join(', '));
      first = false;
    }
    await write(`], "categories": ${pythonic(source.categories)}}`);
    await new Promise((resolve, reject) => stream.end((error) => (error ? reject(error) : resolve())));
    return { images: source.images.length * copies, annotations: id - 1 };
  })();
}

module.exports = { generate };

if (require.main === module) {
  const args = process.argv.slice(2);
  const index = args.indexOf('--copies');
  const copies = index >= 0 ? Number(args[index + 1]) : 900;
  generate(args[0], copies).then((counts) => console.log(JSON.stringify(counts)));
}
