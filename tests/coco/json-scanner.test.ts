import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { JsonScanner, readCocoFile, UnreadableValue, type ScannedFields } from '../../src/coco';
import { CocoFormatError } from '../../src/errors';
import { tempDir } from '../helpers/fixtures';
import { SAMPLE_ANNOTATIONS, VAL2014_GT, VAL2014_RESULTS } from './helpers';

interface Seen {
  key: string | null;
  index: number;
  text: string;
  fields: ScannedFields | null;
}

/** Scans `data` in chunks of `chunkBytes`; returns what the scanner reported, and the error it threw. */
function scan(data: Buffer | string, chunkBytes = 1 << 16): { elements: Seen[]; values: [string, string][]; error?: unknown } {
  const elements: Seen[] = [];
  const values: [string, string][] = [];
  const scanner: JsonScanner = new JsonScanner(
    {
      onElement: (key, index, start, end, fields) => elements.push({ key, index, text: scanner.bytes(start, end).toString('utf8'), fields }),
      onValue: (key, start, end) => values.push([key, scanner.bytes(start, end).toString('utf8')]),
    },
    { chunkBytes },
  );
  try {
    scanner.push(Buffer.isBuffer(data) ? data : Buffer.from(data));
    scanner.finish();
    return { elements, values };
  } catch (error) {
    return { elements, values, error };
  }
}

/** The fields the scanner reads, as JSON.parse sees them (absent keys stay absent). */
function expectedFields(record: Record<string, unknown>): Record<string, unknown> {
  const keys = ['id', 'image_id', 'category_id', 'label', 'bbox', 'score', 'area', 'iscrowd'];
  return Object.fromEntries(keys.filter((key) => key in record).map((key) => [key, record[key]]));
}

function actualFields(fields: ScannedFields): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

describe('JsonScanner', () => {
  it.each([
    ['real COCO val2014 ground truth (annotations before images)', VAL2014_GT],
    ['real detections in results format', VAL2014_RESULTS],
    ['the sample val2017 annotations', SAMPLE_ANNOTATIONS],
  ])('reads every record of %s exactly as JSON.parse, in any chunking', (_name, file) => {
    const data = readFileSync(file);
    const parsed = JSON.parse(data.toString('utf8')) as Record<string, unknown[]> | unknown[];
    for (const chunkBytes of [13, 1 << 16]) {
      const { elements, values, error } = scan(data, chunkBytes);
      expect(error).toBeUndefined();
      if (Array.isArray(parsed)) {
        expect(elements.map((e) => JSON.parse(e.text))).toEqual(parsed);
        expect(elements.every((e) => e.key === null)).toBe(true);
      } else {
        for (const [key, list] of Object.entries(parsed)) {
          if (!Array.isArray(list)) continue;
          expect(elements.filter((e) => e.key === key).map((e) => JSON.parse(e.text))).toEqual(list);
        }
        expect(Object.fromEntries(values.map(([key, text]) => [key, JSON.parse(text)]))).toEqual(
          Object.fromEntries(Object.entries(parsed).filter(([, value]) => !Array.isArray(value))),
        );
      }
      for (const element of elements.filter((e) => e.key === null || e.key === 'annotations')) {
        expect(actualFields(element.fields!)).toEqual(expectedFields(JSON.parse(element.text)));
      }
    }
  });

  it('reads numbers to the same double as JSON.parse, and NaN and Infinity as Python writes them', () => {
    const numbers = ['0', '-0', '7', '1.5', '-2.25e3', '1E-7', '0.1', '0.30000000000000004', '2188.0864999999994', '123456789012345678',
      '9007199254740993', '1e308', '5e-324', '-0.000001', '42.000', '3.14159265358979323846'];
    const text = `[${numbers.map((n, i) => `{"id": ${i}, "area": ${n}, "bbox": [${n}, ${n}, 1, 2]}`).join(',')}]`;
    const { elements, error } = scan(text, 5);
    expect(error).toBeUndefined();
    elements.forEach((element, index) => {
      const expected = JSON.parse(numbers[index]!);
      expect(Object.is(element.fields!.area, expected)).toBe(true);
      expect(element.fields!.bbox).toEqual([expected, expected, 1, 2]);
    });
    const python = scan('[{"score": NaN, "bbox": [Infinity, -Infinity, NaN, 1], "area": -NaN}]').elements[0]!.fields!;
    expect(python.score).toBeNaN();
    expect(python.bbox).toEqual([Infinity, -Infinity, NaN, 1]);
    expect(python.area).toEqual(new UnreadableValue('-NaN'));
  });

  it('skips strings holding brackets, braces and escaped quotes, and decodes escaped keys', () => {
    const text = '{"annotations": [{"note": "a \\"quoted\\" ] } [ { \\\\", "bbo\\u0078": [1, 2, 3, 4], "segmentation": {"counts": "]]}}", "size": [2, 2]}, "id": 5}]}';
    const { elements, error } = scan(text, 4);
    expect(error).toBeUndefined();
    expect(elements).toHaveLength(1);
    expect(actualFields(elements[0]!.fields!)).toEqual({ bbox: [1, 2, 3, 4], id: 5 });
    expect(JSON.parse(elements[0]!.text)).toEqual(JSON.parse(text).annotations[0]);
  });

  it('accepts a byte-order mark, any whitespace, empty arrays and values of every type', () => {
    const document = { info: { year: 2017 }, flag: true, nothing: null, images: [], annotations: [{ id: 1, bbox: [0, 0, 1, 1], category_id: 3 }], categories: [] };
    const text = `\ufeff${JSON.stringify(document, null, '\t').replace(/\n/g, '\r\n')}  \n`;
    const { elements, values, error } = scan(text, 2);
    expect(error).toBeUndefined();
    expect(elements.map((e) => JSON.parse(e.text))).toEqual(document.annotations);
    expect(values.map(([key, value]) => [key, JSON.parse(value)])).toEqual([['info', { year: 2017 }], ['flag', true], ['nothing', null]]);
  });

  it('reports a truncated file at every cut, after exactly the records that were complete', () => {
    const records = [{ id: 1, bbox: [1, 2, 3, 4] }, { id: 2, bbox: [5, 6, 7, 8], segmentation: [[1, 2, 3]] }, { id: 3, bbox: [9, 9, 9, 9] }];
    const text = JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg' }], annotations: records });
    for (let cut = 0; cut < text.length; cut++) {
      const { elements, error } = scan(text.slice(0, cut), 3);
      expect(error).toBeInstanceOf(CocoFormatError);
      expect((error as Error).message).toMatch(cut === 0 ? /ends early at byte 0/ : /truncated/);
      const annotations = elements.filter((e) => e.key === 'annotations').map((e) => JSON.parse(e.text));
      expect(records.slice(0, annotations.length)).toEqual(annotations);
    }
  });

  it('names the byte and the record of malformed JSON', () => {
    const { error } = scan('{"annotations": [{"id": 1} {"id": 2}]}');
    expect(error).toBeInstanceOf(CocoFormatError);
    expect((error as CocoFormatError).message).toMatch(/malformed JSON at byte 27 in "annotations" at record 1: expected "," or "]"/);
    expect((error as CocoFormatError).field).toBe('annotations');
    expect((scan('"just a string"').error as Error).message).toMatch(/expected a COCO file/);
    expect((scan('{"a": 1} x').error as Error).message).toMatch(/nothing after the top-level value/);
  });
});

describe('readCocoFile', () => {
  it('streams records with their fields, knows the kind and hashes the file', async () => {
    const kinds: string[] = [];
    let annotations = 0;
    let images = 0;
    const reader = readCocoFile(VAL2014_GT, { hash: true, chunkBytes: 4096 });
    for await (const record of reader) {
      if (record.section === 'annotations') {
        annotations++;
        expect(record.fields!.bbox).toEqual((record.json as { bbox: number[] }).bbox);
      }
      if (record.section === 'images') images++;
      kinds.push(reader.kind!);
    }
    expect({ annotations, images }).toEqual({ annotations: 839, images: 100 });
    expect(new Set(kinds)).toEqual(new Set(['instances']));
    expect(reader.sha256).toBe(createHash('sha256').update(readFileSync(VAL2014_GT)).digest('hex'));
    expect([...reader.sectionCounts]).toEqual([['annotations', 839], ['images', 100], ['categories', 80], ['info', 1], ['licenses', 8]]);

    const results = readCocoFile(VAL2014_RESULTS);
    let detections = 0;
    for await (const batch of results.batches()) detections += batch.length;
    expect([results.kind, detections]).toEqual(['results', 734]);
  });

  it('reads only the sections asked for, and can stop once it has them', async () => {
    const temp = tempDir();
    try {
      const file = path.join(temp.dir, 'ordered.json');
      const document = readFileSync(SAMPLE_ANNOTATIONS, 'utf8');
      // A file with its categories and images first, then a truncated tail: stopping early never sees the tail.
      const parsed = JSON.parse(document);
      writeFileSync(file, `{"categories": ${JSON.stringify(parsed.categories)}, "images": ${JSON.stringify(parsed.images)}, "annotations": [{"id": 1`);
      const reader = readCocoFile(file, { sections: ['images', 'categories'], stopAfterSections: true, chunkBytes: 1024 });
      const sections = new Set<string>();
      let count = 0;
      for await (const record of reader) {
        sections.add(record.section);
        count++;
      }
      expect([...sections].sort()).toEqual(['categories', 'images']);
      expect(count).toBe(parsed.categories.length + parsed.images.length);
      expect(reader.stoppedEarly).toBe(true);
      await expect(async () => {
        for await (const record of readCocoFile(file)) void record;
      }).rejects.toThrow(/truncated/);
    } finally {
      temp.cleanup();
    }
  });
});
