import { copyFileSync, existsSync, mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Dataset } from '../../src/dataset';
import { fillThumbnails, LabelingSession, SessionHost, ThumbnailCache, thumbnailCachePath, type Envelope, type ServerMessage, type ThumbnailView } from '../../src/session';
import { makePng, sampleCopy } from '../helpers/fixtures';

type ThumbnailsReply = Extract<ServerMessage, { type: 'thumbnails' }>;

/** One client of a host: sends a message, returns what came back for it. */
function client(host: SessionHost) {
  const inbox: Envelope<ServerMessage>[] = [];
  const session = new LabelingSession(host, (envelope) => inbox.push(envelope), { user: 'ann', prefetch: 1 });
  let nextId = 1;
  return async (message: Record<string, unknown>): Promise<Envelope<ServerMessage>[]> => {
    const before = inbox.length;
    await session.handle({ requestId: nextId++, ...message });
    return inbox.slice(before);
  };
}

async function thumbnails(host: SessionHost, itemIds: number[], maxSize = 128): Promise<ThumbnailView[]> {
  const replies = await client(host)({ type: 'thumbnails', itemIds, maxSize });
  const reply = replies.find((e) => e.message.type === 'thumbnails')?.message as ThumbnailsReply | undefined;
  if (!reply) throw new Error(`no thumbnails reply: ${JSON.stringify(replies.map((e) => e.message))}`);
  return reply.images;
}

const dataOf = (view: ThumbnailView | undefined): string => {
  if (!view || !('data' in view)) throw new Error(`no image: ${JSON.stringify(view)}`);
  return view.data;
};

describe('thumbnail cache on disk', () => {
  let data: ReturnType<typeof sampleCopy>;
  let ds: Dataset;
  let cacheFile: string;

  beforeEach(async () => {
    data = sampleCopy();
    ds = await Dataset.open(data.dir, { user: 'ann' });
    await ds.ingest();
    cacheFile = thumbnailCachePath(ds.store.file);
  });
  afterEach(() => {
    ds.close();
    data.cleanup();
  });

  it('lives beside the store, and serves the same bytes after the session host restarts', async () => {
    expect(cacheFile).toBe(path.join(data.dir, '.quicksort', 'thumbnails.db'));
    const ids = ds.items({ limit: 5 }).map((item) => item.id);
    const first = new SessionHost(ds);
    const made = await thumbnails(first, ids);
    expect(made.map((v) => v.itemId)).toEqual(ids);
    expect(made[0]).toMatchObject({ mime: 'image/jpeg' });
    expect(Math.max((made[0] as { width: number }).width, (made[0] as { height: number }).height)).toBe(128);
    expect(Buffer.from(dataOf(made[0]), 'base64')[0]).toBe(0xff);
    await first.close();
    expect(existsSync(cacheFile)).toBe(true);

    // The files change on disk without an ingest: a host that resized again would send other pixels, so the
    // same bytes can only come from the cache on disk (keyed by the content hash the store knows).
    for (const id of ids) writeFileSync(ds.pathOf(ds.item(id)), await makePng(300, 200, id));
    const second = new SessionHost(ds);
    expect(second.images.disk?.count()).toBe(5);
    const again = await thumbnails(second, ids);
    expect(again.map(dataOf)).toEqual(made.map(dataOf));
    // The one-by-one `image` request reads the same cache.
    const image = (await client(second)({ type: 'image', itemId: ids[0], maxSize: 128 })).find((e) => e.message.type === 'image')!;
    expect(Buffer.from(image.buffers![0]!).toString('base64')).toBe(dataOf(made[0]));
    await second.close();
  });

  it('gives a changed file (a new hash after ingest) a fresh thumbnail', async () => {
    const [item] = ds.items({ limit: 1 });
    const host = new SessionHost(ds);
    const before = dataOf((await thumbnails(host, [item!.id]))[0]);
    await host.close();

    writeFileSync(ds.pathOf(item!), await makePng(320, 240, 99));
    await ds.ingest();
    expect(ds.item(item!.id).hash).not.toBe(item!.hash);
    const restarted = new SessionHost(ds);
    const after = (await thumbnails(restarted, [item!.id]))[0] as { data: string; width: number; height: number };
    expect(after.data).not.toBe(before);
    expect([after.width, after.height]).toEqual([128, 96]);
    await restarted.close();
    expect(rowsIn(cacheFile)).toBe(2); // the old content's row stays, harmless
  });

  it('replaces a corrupt cache file and still serves the image', async () => {
    mkdirSync(path.dirname(cacheFile), { recursive: true });
    writeFileSync(cacheFile, Buffer.from('this is not a SQLite database, just bytes '.repeat(200)));
    const logged: string[] = [];
    const host = new SessionHost(ds, { log: (line) => logged.push(line) });
    expect(host.images.disk?.enabled).toBe(true);
    expect(logged.join('\n')).toMatch(/cannot be used.*making it again/);
    const [item] = ds.items({ limit: 1 });
    expect((await thumbnails(host, [item!.id]))[0]).toMatchObject({ itemId: item!.id, mime: 'image/jpeg' });
    await host.close();
    expect(rowsIn(cacheFile)).toBe(1);
  });

  it('treats a damaged row as a miss (its CRC), and a cache that cannot be opened as no cache', async () => {
    const [item] = ds.items({ limit: 1 });
    const host = new SessionHost(ds);
    const good = dataOf((await thumbnails(host, [item!.id]))[0]);
    await host.close();
    const db = new Database(cacheFile);
    db.prepare('UPDATE thumbnails SET bytes = ?').run(Buffer.from('garbage'));
    db.close();
    const again = new SessionHost(ds);
    expect(dataOf((await thumbnails(again, [item!.id]))[0])).toBe(good);
    await again.close();

    // A folder where the file should be: nothing to replace it with, so the cache is off and images still come.
    for (const suffix of ['', '-wal', '-shm']) rmSync(cacheFile + suffix, { force: true });
    mkdirSync(cacheFile);
    const off = new SessionHost(ds);
    expect(off.images.disk?.enabled).toBe(false);
    expect(dataOf((await thumbnails(off, [item!.id]))[0])).toBe(good);
    await off.close();
  });

  it('says why an image is missing, per item, and still sends the others; refuses oversized asks', async () => {
    const [gone, kept] = ds.items({ limit: 2 });
    unlinkSync(ds.pathOf(gone!));
    const host = new SessionHost(ds);
    const views = await thumbnails(host, [gone!.id, kept!.id, 99999]);
    expect(views[0]).toEqual({ itemId: gone!.id, problem: expect.stringMatching(/cannot be read: the file is gone from the dataset folder/) });
    expect(views[1]).toMatchObject({ itemId: kept!.id, mime: 'image/jpeg' });
    expect(views[2]).toMatchObject({ itemId: 99999, problem: expect.stringMatching(/no item with id 99999/) });

    const send = client(host);
    expect((await send({ type: 'thumbnails', itemIds: [] }))[0]!.message).toMatchObject({ type: 'refused', reason: expect.stringMatching(/1 to 64/) });
    expect((await send({ type: 'thumbnails', itemIds: [kept!.id], maxSize: 1024 }))[0]!.message).toMatchObject({ type: 'refused', reason: expect.stringMatching(/16 to 384/) });
    expect((await send({ type: 'thumbnails', itemIds: ['x'] }))[0]!.message).toMatchObject({ type: 'refused', code: 'protocol', reason: expect.stringMatching(/itemIds must be integer\[\]/) });
    await host.close();
  });

  it('is pre-filled by fillThumbnails, which then does only what changed', async () => {
    const progress: number[] = [];
    const report = await fillThumbnails(ds, { sizes: [128, 256], concurrency: 2, onProgress: (p) => progress.push(p.done) });
    const items = ds.count();
    expect(report.failed).toEqual([]);
    expect(report.made + report.cached).toBe(items * 2);
    expect(progress.at(-1)).toBe(items * 2);
    const again = await fillThumbnails(ds, { sizes: [128, 256] });
    expect(again).toMatchObject({ made: 0, cached: items * 2 });

    // A host finds them: no resize needed even for a file that no longer decodes.
    const [item] = ds.items({ limit: 1 });
    copyFileSync(path.join(__dirname, '..', '..', 'package.json'), ds.pathOf(item!));
    const host = new SessionHost(ds);
    expect((await thumbnails(host, [item!.id], 256))[0]).toMatchObject({ mime: 'image/jpeg' });
    await host.close();
    await expect(fillThumbnails(ds, { sizes: [1024] })).rejects.toThrow(/16 to 384/);
  });

  it('can be turned off', async () => {
    const host = new SessionHost(ds, { thumbnailCache: false });
    expect(host.images.disk).toBeUndefined();
    const [item] = ds.items({ limit: 1 });
    expect((await thumbnails(host, [item!.id]))[0]).toMatchObject({ mime: 'image/jpeg' });
    await host.close();
    expect(existsSync(cacheFile)).toBe(false);
  });
});

/** Rows in a cache file, read with a connection of its own. */
function rowsIn(file: string): number {
  const cache = ThumbnailCache.open(file);
  try {
    return cache.count();
  } finally {
    cache.close();
  }
}
