import { readFileSync, symlinkSync, writeFileSync, utimesSync, unlinkSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { LabelStore } from '../../src/store';
import { ingestFolder } from '../../src/images';
import { makePng, pngHeaderOnly, sampleCopy, tempDir } from '../helpers/fixtures';

describe('ingestFolder', () => {
  let data: ReturnType<typeof sampleCopy>;
  let outside: ReturnType<typeof tempDir>;
  let store: LabelStore;

  beforeEach(() => {
    data = sampleCopy();
    outside = tempDir();
    store = LabelStore.open(path.join(outside.dir, 'store.db'));
  });
  afterEach(() => {
    store.close();
    data.cleanup();
    outside.cleanup();
  });

  it('ingests every sample image with its dimensions and hash, then only what changed', async () => {
    const progress: number[] = [];
    const first = await ingestFolder(store, data.dir, { onProgress: (p) => progress.push(p.done) });
    expect(first).toMatchObject({ found: 36, added: 36, updated: 0, unchanged: 0, failed: 0, missing: 0 });
    expect(progress.at(-1)).toBe(36);
    const item = store.items({ where: { uriLike: '000000%' }, limit: 1 })[0]!;
    expect(item.format).toBe('jpeg');
    expect(item.width).toBeGreaterThan(0);
    expect(item.hash).toMatch(/^[0-9a-f]{64}$/);

    const second = await ingestFolder(store, data.dir);
    expect(second).toMatchObject({ found: 36, added: 0, updated: 0, unchanged: 36, failed: 0 });

    // A changed file is re-probed; a new file is added; a removed one is flagged missing, its labels kept.
    const [a, b] = store.items({ limit: 2 });
    store.act(b!.id, { kind: 'label', label: 'keep-me' });
    writeFileSync(path.join(data.dir, a!.uri), await makePng(40, 30, 7));
    utimesSync(path.join(data.dir, a!.uri), new Date(), new Date(Date.now() + 5000));
    writeFileSync(path.join(data.dir, 'new.png'), await makePng(20, 10, 3));
    unlinkSync(path.join(data.dir, b!.uri));
    const third = await ingestFolder(store, data.dir);
    expect(third).toMatchObject({ found: 36, added: 1, updated: 1, unchanged: 34, missing: 1 });
    expect(store.item(a!.id)).toMatchObject({ width: 40, height: 30, format: 'png' });
    expect(store.item(b!.id)).toMatchObject({ missing: true, label: 'keep-me' });
  });

  it('reports files with identical content', async () => {
    const [first] = readdirImages(data.dir);
    writeFileSync(path.join(data.dir, 'copy.jpg'), readFileSync(path.join(data.dir, first!)));
    const report = await ingestFolder(store, data.dir);
    expect(report.duplicateGroups).toBe(1);
    expect(store.duplicates()[0]!.uris.sort()).toEqual(['copy.jpg', first].sort());
  });

  it('records each bad file with a clear reason and ingests the rest', async () => {
    const jpeg = readFileSync(path.join(data.dir, readdirImages(data.dir)[0]!));
    const corrupt = Buffer.from(jpeg);
    for (let i = 2000; i < 6000; i++) corrupt[i] = (i * 7919) % 256;
    const bad = path.join(data.dir, 'bad');
    mkdirSync(bad);
    writeFileSync(path.join(bad, 'corrupt.jpg'), corrupt);
    const png = await makePng(64, 64, 1);
    writeFileSync(path.join(bad, 'truncated.png'), png.subarray(0, png.length - 40));
    writeFileSync(path.join(bad, 'text.jpg'), 'this is not an image\n');
    writeFileSync(path.join(bad, 'empty.jpg'), Buffer.alloc(0));
    writeFileSync(path.join(bad, 'huge.png'), pngHeaderOnly(100_000, 100_000));
    writeFileSync(path.join(outside.dir, 'outside.png'), png);
    symlinkSync(path.join(outside.dir, 'outside.png'), path.join(bad, 'escape.png'));
    const unicode = 'caf\u00e9 \u732b \u{1F431} \u202e.png';
    writeFileSync(path.join(data.dir, unicode), png);
    writeFileSync(path.join(data.dir, 'notes.txt'), 'ignored: not an image name');

    const report = await ingestFolder(store, data.dir);
    const reasons = Object.fromEntries(report.failures.map((f) => [f.uri, f.reason]));
    expect(reasons['bad/corrupt.jpg']).toMatch(/corrupt image data/);
    expect(reasons['bad/truncated.png']).toMatch(/corrupt image data|not a readable image/);
    expect(reasons['bad/text.jpg']).toMatch(/not a readable image/);
    expect(reasons['bad/empty.jpg']).toBe('empty file (0 bytes)');
    expect(reasons['bad/huge.png']).toMatch(/100000×100000 pixels \(10\.0 gigapixels\) is over the limit/);
    expect(reasons['bad/escape.png']).toMatch(/symbolic link points outside the dataset folder/);
    expect(report).toMatchObject({ added: 37, failed: 6 });
    expect(store.items({ where: { uriLike: 'caf%' } })[0]).toMatchObject({ uri: unicode, width: 64 });
    expect(store.failures().map((f) => f.uri).sort()).toEqual(Object.keys(reasons).sort());

    // Unchanged failures are not probed again, and still counted.
    const again = await ingestFolder(store, data.dir);
    expect(again).toMatchObject({ added: 0, unchanged: 37, failed: 6 });
    expect(store.failures()).toHaveLength(6);
  });

  it('refuses names that are not valid UTF-8 as such, with their bytes, and ingests the rest', async () => {
    const png = await makePng(16, 16, 2);
    const root = Buffer.from(data.dir);
    writeFileSync(Buffer.concat([root, Buffer.from('/a'), Buffer.from([0xff]), Buffer.from('.png')]), png);
    mkdirSync(Buffer.concat([root, Buffer.from('/dir'), Buffer.from([0xe9])]));
    writeFileSync(Buffer.concat([root, Buffer.from('/dir'), Buffer.from([0xe9]), Buffer.from('/inside.png')]), png);
    writeFileSync(Buffer.concat([root, Buffer.from('/notes'), Buffer.from([0xff]), Buffer.from('.txt')]), 'not an image name');

    const report = await ingestFolder(store, data.dir);
    expect(report).toMatchObject({ added: 36, failed: 2 });
    const reasons = Object.fromEntries(report.failures.map((f) => [f.uri, f.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['a\\xff.png', 'dir\\xe9']);
    expect(reasons['a\\xff.png']).toBe('file name is not valid UTF-8 (bytes 61 ff 2e 70 6e 67); rename it to a UTF-8 name (convmv does it in bulk) and ingest again');
    expect(reasons['dir\\xe9']).toMatch(/^folder name is not valid UTF-8 \(bytes 64 69 72 e9\); nothing in it is ingested/);
  });

  it('tries a failed file again when the options that refused it change', async () => {
    const folder = path.join(outside.dir, 'images');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'big.png'), await makePng(100, 100, 4));
    const refused = await ingestFolder(store, folder, { maxPixels: 1000 });
    expect(refused.failures).toEqual([{ uri: 'big.png', reason: '100×100 pixels (10,000 pixels) is over the limit of 1,000 pixels; raise maxPixels to accept it' }]);
    // Same file, same options: counted, not probed again.
    expect(await ingestFolder(store, folder, { maxPixels: 1000 })).toMatchObject({ added: 0, failed: 1, failures: [] });

    const accepted = await ingestFolder(store, folder);
    expect(accepted).toMatchObject({ added: 1, failed: 0, failures: [] });
    expect(store.items({ where: { uriLike: 'big.png' } })[0]).toMatchObject({ width: 100, height: 100 });
    expect(store.failures()).toEqual([]);
  });

  it('forgets the failures of files that are gone', async () => {
    writeFileSync(path.join(data.dir, 'corrupt.png'), 'not an image');
    writeFileSync(path.join(data.dir, 'empty.png'), Buffer.alloc(0));
    await ingestFolder(store, data.dir);
    expect(store.failures().map((f) => f.uri)).toEqual(['corrupt.png', 'empty.png']);

    unlinkSync(path.join(data.dir, 'corrupt.png'));
    const report = await ingestFolder(store, data.dir);
    expect(report).toMatchObject({ unchanged: 36, failed: 1 });
    expect(store.failures().map((f) => f.uri)).toEqual(['empty.png']);
    expect(store.stats().failed).toBe(1);
  });

  it('header mode catches truncation cheaply', async () => {
    const png = await makePng(64, 64, 1);
    writeFileSync(path.join(data.dir, 'truncated.png'), png.subarray(0, png.length - 12));
    const report = await ingestFolder(store, data.dir, { verify: 'header' });
    expect(report.failures).toEqual([{ uri: 'truncated.png', reason: 'truncated PNG: no IEND chunk' }]);
  });
});

function readdirImages(dir: string): string[] {
  return require('node:fs').readdirSync(dir).filter((name: string) => name.endsWith('.jpg')).sort();
}
