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
