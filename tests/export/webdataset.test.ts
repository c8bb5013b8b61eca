import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Dataset } from '../../src/dataset';
import { exportDataset } from '../../src/export';
import { makePng, SAMPLE_IMAGES } from '../helpers/fixtures';
import { exporterContract } from './exporter-contract';
import { ALL_FIELDS, expectedRows, makeDataset, path, sha256, tempDir, type ExportedRow, type Fixture } from './fixtures';

interface Sample {
  key: string;
  members: Record<string, Buffer>;
}

/** Lists and extracts every shard with the system `tar` (GNU tar), and groups the members into samples. */
function extractShards(out: string): { shards: string[]; samples: Sample[]; memberOrder: string[] } {
  const shards = readdirSync(out).filter((name) => name.endsWith('.tar')).sort();
  const samples: Sample[] = [];
  const memberOrder: string[] = [];
  for (const shard of shards) {
    const listed = execFileSync('tar', ['-tf', path.join(out, shard)], { encoding: 'utf8' }).split('\n').filter(Boolean);
    memberOrder.push(...listed);
    const dir = mkdtempSync(path.join(tmpdir(), 'quicksort-wds-'));
    try {
      execFileSync('tar', ['-xf', path.join(out, shard), '-C', dir]);
      for (const name of listed) {
        const dot = name.indexOf('.');
        const key = name.slice(0, dot);
        let sample = samples[samples.length - 1];
        if (!sample || sample.key !== key) samples.push((sample = { key, members: {} }));
        sample.members[name.slice(dot + 1)] = readFileSync(path.join(dir, name));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { shards, samples, memberOrder };
}

function classesOf(out: string): string[] {
  return readFileSync(path.join(out, 'classes.txt'), 'utf8').split('\n').slice(0, -1);
}

/** Checks each sample's members against its metadata and the image on disk, and returns the metadata as rows. */
function readBack(out: string, fixture: Fixture): ExportedRow[] {
  const classes = classesOf(out);
  return extractShards(out).samples.map(({ key, members }) => {
    const meta = JSON.parse(members.json!.toString('utf8'));
    expect(key).toBe(String(meta.id).padStart(9, '0'));
    const ext = path.extname(meta.uri).slice(1).toLowerCase();
    // The image member holds the file's bytes exactly: its sha256 is the one the store recorded at ingest.
    expect(sha256File(members[ext]!)).toBe(meta.hash);
    expect(sha256(fixture.ds.pathOf(meta))).toBe(meta.hash);
    if (meta.label === null) expect(members.cls).toBeUndefined();
    else expect(classes[Number(members.cls!.toString('ascii'))]).toBe(meta.label);
    expect(meta.class_index).toBe(meta.label === null ? null : classes.indexOf(meta.label));
    if (meta.caption) expect(members.txt!.toString('utf8')).toBe(meta.caption);
    else expect(members.txt).toBeUndefined();
    return {
      id: meta.id, uri: meta.uri, format: meta.format, width: meta.width, height: meta.height, hash: meta.hash, split: meta.split,
      label: meta.label, labelSource: meta.label_source, confidence: meta.confidence, labeledBy: meta.labeled_by, caption: meta.caption, captions: meta.captions,
      tags: meta.tags, sourceUri: meta.source_uri, box: meta.box, cocoImageId: meta.coco_image_id, cocoAnnotationId: meta.coco_annotation_id,
    };
  });
}

function sha256File(data: Buffer): string {
  return require('node:crypto').createHash('sha256').update(data).digest('hex');
}

exporterContract({
  format: 'webdataset',
  outName: 'shards',
  fields: ALL_FIELDS,
  readBack,
  readClasses: classesOf,
});

describe('WebDataset shards', () => {
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

  it('names shards NAME-000000.tar, at most shardSamples each, never splitting a sample, with the shard list beside them', async () => {
    const out = path.join(work.dir, 'by-count');
    const report = await exportDataset(fixture.ds, { format: 'webdataset', out, shardSamples: 10, shardName: 'train' });
    const { shards, samples, memberOrder } = extractShards(out);
    expect(shards).toEqual(['train-000000.tar', 'train-000001.tar', 'train-000002.tar', 'train-000003.tar']);
    expect(report.files).toEqual([...shards, 'classes.txt', 'shards.json']);
    expect(samples).toHaveLength(35);
    // Members of a sample are adjacent (WebDataset groups by consecutive keys).
    const keys = memberOrder.map((name) => name.slice(0, name.indexOf('.')));
    expect(new Set(keys).size).toBe(keys.filter((key, i) => key !== keys[i - 1]).length);
    const list = JSON.parse(readFileSync(path.join(out, 'shards.json'), 'utf8'));
    expect(list.samples).toBe(35);
    expect(list.shards.map((shard: { samples: number }) => shard.samples)).toEqual([10, 10, 10, 5]);
    for (const shard of list.shards) expect(statSync(path.join(out, shard.file)).size).toBe(shard.bytes);
  });

  it('keeps each shard under shardBytes (a sample larger than the limit gets a shard of its own)', async () => {
    const out = path.join(work.dir, 'by-size');
    const limit = 600_000;
    await exportDataset(fixture.ds, { format: 'webdataset', out, shardBytes: limit });
    const { shards, samples } = extractShards(out);
    expect(samples).toHaveLength(35);
    expect(shards.length).toBeGreaterThan(3);
    const biggest = Math.max(...fixture.ds.items().map((item) => statSync(fixture.ds.pathOf(item)).size));
    for (const shard of shards) expect(statSync(path.join(out, shard)).size).toBeLessThanOrEqual(Math.max(limit, biggest + 8 * 1024));
  });

  it('uses each file’s own extension, and skips an item whose image is gone with a counted warning', async () => {
    const data = tempDir();
    try {
      writeFileSync(path.join(data.dir, 'red.png'), await makePng(16, 12));
      copyFileSync(path.join(SAMPLE_IMAGES, readdirSync(SAMPLE_IMAGES)[0]!), path.join(data.dir, 'photo.jpeg'));
      mkdirSync(path.join(data.dir, 'sub'));
      copyFileSync(path.join(SAMPLE_IMAGES, readdirSync(SAMPLE_IMAGES)[1]!), path.join(data.dir, 'sub', 'gone.jpg'));
      const ds = await Dataset.open(data.dir);
      try {
        await ds.ingest({ verify: 'header', threads: 1 });
        rmSync(path.join(data.dir, 'sub', 'gone.jpg'));
        const out = path.join(data.dir, 'out');
        const report = await exportDataset(ds, { format: 'webdataset', out });
        expect(report.rows).toBe(2);
        expect(report.skippedCount).toBe(1);
        expect(report.skipped[0]).toMatchObject({ uri: 'sub/gone.jpg', reason: expect.stringMatching(/cannot read .*gone\.jpg/) });
        const { memberOrder } = extractShards(out);
        expect(memberOrder.map((name) => name.slice(name.indexOf('.') + 1)).sort()).toEqual(['jpeg', 'json', 'json', 'png']);
      } finally {
        ds.close();
      }
    } finally {
      data.cleanup();
    }
  });

  it('replaces with --force only a folder that holds nothing but an earlier export', async () => {
    const out = path.join(work.dir, 'mine');
    mkdirSync(out);
    writeFileSync(path.join(out, 'notes.md'), 'my notes');
    await expect(exportDataset(fixture.ds, { format: 'webdataset', out, force: true })).rejects.toThrow(/holds files this export did not write \("notes\.md"\)/);
    expect(readdirSync(out)).toEqual(['notes.md']);
    expect(readdirSync(work.dir).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('reads back equal to the store with the default shard limits', async () => {
    const out = path.join(work.dir, 'default');
    await exportDataset(fixture.ds, { format: 'webdataset', out });
    expect(readdirSync(out).sort()).toEqual(['classes.txt', 'default-000000.tar', 'shards.json']);
    expect(readBack(out, fixture)).toEqual(expectedRows(fixture.ds.items(), ALL_FIELDS));
  });
});
