import sharp from 'sharp';
import { Dataset } from '../../src/dataset';
import { mulberry32 } from '../../src/random';
import type { EmbeddingMatrix } from '../../src/learn';
import { LabelingSession, SessionHost, type Envelope, type ServerMessage } from '../../src/session';
import { ImageCache } from '../../src/session/image-cache';
import { SAMPLE_ANNOTATIONS, SAMPLE_IMAGES, sampleCopy, tempDir } from '../helpers/fixtures';

/**
 * What the labeling app needs of the session beyond the first protocol: `browse` (the grid's long list),
 * resized images cached across sessions, a crop's context image, `hello.focus` (a reloaded page resumes on
 * its item), and grid pages given back when the next one is asked for.
 */

function randomEmbeddings(ids: number[], dim = 16): EmbeddingMatrix {
  const random = mulberry32(9);
  return { ids, dim, vectors: Float32Array.from({ length: ids.length * dim }, () => random() - 0.5) };
}

type Reply<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

class Client {
  readonly inbox: Envelope<ServerMessage>[] = [];
  readonly session: LabelingSession;
  private nextId = 1;
  constructor(host: SessionHost, user = 'ann') {
    this.session = new LabelingSession(host, (envelope) => this.inbox.push(envelope), { user, prefetch: 3 });
  }
  async send(message: Record<string, unknown>): Promise<Envelope<ServerMessage>[]> {
    const before = this.inbox.length;
    await this.session.handle({ requestId: this.nextId++, ...message });
    return this.inbox.slice(before);
  }
  async reply<T extends ServerMessage['type']>(message: Record<string, unknown>): Promise<Reply<T>> {
    return (await this.send(message))[0]!.message as Reply<T>;
  }
  lastQueue(): number[] {
    const queue = [...this.inbox].reverse().find((e) => e.message.type === 'queue')!.message as Reply<'queue'>;
    return queue.items.map((item) => item.id);
  }
}

describe('session messages for the labeling app', () => {
  let data: ReturnType<typeof sampleCopy>;
  let ds: Dataset;

  beforeEach(async () => {
    data = sampleCopy();
    ds = await Dataset.open(data.dir, { user: 'ann' });
    await ds.ingest();
  });
  afterEach(() => {
    ds.close();
    data.cleanup();
  });

  it('browses all items in windows, with filters, handing nothing out', async () => {
    const host = new SessionHost(ds);
    const ann = new Client(host);
    await ann.send({ type: 'hello' });
    const first = await ann.reply<'browse'>({ type: 'browse', offset: 0, limit: 10 });
    expect(first).toMatchObject({ type: 'browse', offset: 0, total: 36 });
    expect(first.items.map((item) => item.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const last = await ann.reply<'browse'>({ type: 'browse', offset: 30, limit: 10 });
    expect(last.items.map((item) => item.id)).toEqual([31, 32, 33, 34, 35, 36]);

    ds.labelMany([{ id: 3, label: 'cat' }, { id: 7, label: 'dog' }]);
    ds.tags(7, ['blurry']);
    ds.caption(8, 'a red bus');
    expect((await ann.reply<'browse'>({ type: 'browse', offset: 0, limit: 50, filter: { label: 'cat' } })).items.map((i) => i.id)).toEqual([3]);
    expect((await ann.reply<'browse'>({ type: 'browse', offset: 0, limit: 50, filter: { labeled: true } })).total).toBe(2);
    expect((await ann.reply<'browse'>({ type: 'browse', offset: 0, limit: 50, filter: { label: null } })).total).toBe(34);
    expect((await ann.reply<'browse'>({ type: 'browse', offset: 0, limit: 50, filter: { tag: 'blurry' } })).items.map((i) => i.id)).toEqual([7]);
    expect((await ann.reply<'browse'>({ type: 'browse', offset: 0, limit: 50, filter: { hasCaption: true } })).items.map((i) => i.id)).toEqual([8]);
    const uri = ds.item(5).uri.slice(3, 9);
    expect((await ann.reply<'browse'>({ type: 'browse', offset: 0, limit: 50, filter: { uri } })).items.map((i) => i.id)).toContain(5);

    expect(await ann.reply({ type: 'browse', offset: 0, limit: 5000 })).toMatchObject({ type: 'refused', code: 'invalid_argument', reason: expect.stringMatching(/limit must be 1 to 1000/) });
    expect(await ann.reply({ type: 'browse', offset: 0, limit: 5, filter: { colour: 'red' } })).toMatchObject({
      type: 'refused', code: 'protocol', reason: expect.stringMatching(/field filter must be an object with some of label, labeled, tag, hasCaption, uri/),
    });
    // Browsing claims nothing: a second person still gets the first items of the queue.
    const bob = new Client(host, 'bob');
    await bob.send({ type: 'hello' });
    expect(bob.lastQueue()[0]).not.toBe(ann.lastQueue()[0]);
    host.close();
  });

  it('resizes an image once per size and serves it again from the shared cache', async () => {
    const host = new SessionHost(ds);
    const ann = new Client(host);
    const bob = new Client(host, 'bob');
    const one = (await ann.send({ type: 'image', itemId: 4, maxSize: 96 }))[0]!;
    expect(host.images.memory.size.entries).toBe(1);
    const two = (await bob.send({ type: 'image', itemId: 4, maxSize: 96 }))[0]!;
    expect(host.images.memory.size.entries).toBe(1);
    expect(two.message).toMatchObject({ type: 'image', itemId: 4, width: (one.message as Reply<'image'>).width });
    expect(Buffer.from(two.buffers![0]!).equals(Buffer.from(one.buffers![0]!))).toBe(true);
    await ann.send({ type: 'image', itemId: 4, maxSize: 128 });
    expect(host.images.memory.size.entries).toBe(2);
    host.close();
  });

  it('keeps the image cache within its bytes, least recently used out first', () => {
    const cache = new ImageCache(100);
    const image = (n: number) => ({ bytes: new Uint8Array(n), mime: 'image/jpeg', width: 1, height: 1 });
    cache.set('a', image(40));
    cache.set('b', image(40));
    cache.get('a');
    cache.set('c', image(40));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.size).toEqual({ entries: 2, bytes: 80 });
    cache.set('huge', image(500));
    expect(cache.get('huge')).toBeUndefined();
  });

  it('resumes a reloaded client on its focus item, unless it was labeled meanwhile', async () => {
    const host = new SessionHost(ds, { embeddings: randomEmbeddings(ds.items().map((i) => i.id)), ranker: 'chain', rescoreDelayMs: 1 });
    const ann = new Client(host);
    await ann.send({ type: 'hello' });
    const held = ann.lastQueue();
    const focus = held[2]!;
    ann.session.close();

    const again = new Client(host);
    await again.send({ type: 'hello', focus });
    const queue = again.lastQueue();
    expect(queue[0]).toBe(focus);
    expect(new Set(queue).size).toBe(queue.length);
    await again.send({ type: 'label', itemId: focus, label: 'cat' });
    again.session.close();

    const third = new Client(host);
    await third.send({ type: 'hello', focus });
    expect(third.lastQueue()).not.toContain(focus);
    expect(await third.reply({ type: 'hello', focus: 'x' })).toMatchObject({ type: 'refused', reason: expect.stringMatching(/field focus must be integer/) });
    await host.close();
  });

  it('gives a grid page back when the next page is asked for or the client leaves', async () => {
    const host = new SessionHost(ds); // no embeddings: pages are the next items in order
    const ann = new Client(host);
    const page1 = await ann.reply<'page'>({ type: 'page', size: 5 });
    expect(page1.items.map((i) => i.id)).toEqual([1, 2, 3, 4, 5]);
    const page2 = await ann.reply<'page'>({ type: 'page', size: 5 });
    expect(page2.items.map((i) => i.id)).toEqual([1, 2, 3, 4, 5]);
    ann.session.close();
    const bob = new Client(host, 'bob');
    expect((await bob.reply<'page'>({ type: 'page', size: 3 })).items.map((i) => i.id)).toEqual([1, 2, 3]);
    host.close();
  });

  it('lets a grid page take the items the client holds ahead in focus, keeping its current one', async () => {
    const host = new SessionHost(ds);
    const ann = new Client(host);
    await ann.send({ type: 'hello' });
    expect(ann.lastQueue()).toEqual([1, 2, 3, 4]);
    const page = await ann.reply<'page'>({ type: 'page', size: 3 });
    expect(page.items.map((i) => i.id)).toEqual([2, 3, 4]);
    expect(ann.lastQueue()).toEqual([1, 5, 6, 7]);
    host.close();
  });

  it('sends the class counts after stats, so a polling client sees them move', async () => {
    const host = new SessionHost(ds);
    const ann = new Client(host);
    await ann.send({ type: 'hello' });
    await ann.send({ type: 'label', itemId: 1, label: 'cat' });
    await ann.send({ type: 'label', itemId: 2, label: 'cat' });
    const replies = await ann.send({ type: 'stats' });
    expect(replies.map((r) => r.message.type)).toEqual(['stats', 'classes']);
    expect(replies[1]!.message).toMatchObject({ type: 'classes', classes: [{ name: 'cat', key: '1', count: 2 }] });
    host.close();
  });

  it('refuses a context image for an item that is not a crop, with the reason', async () => {
    const host = new SessionHost(ds);
    const ann = new Client(host);
    expect(await ann.reply({ type: 'image', itemId: 1, context: true })).toMatchObject({ type: 'refused', code: 'not_found', reason: expect.stringMatching(/not a crop of a COCO image/) });
    expect(await ann.reply({ type: 'image', itemId: 1, context: 'yes' })).toMatchObject({ type: 'refused', code: 'protocol', reason: expect.stringMatching(/context must be boolean/) });
    host.close();
  });
});

describe('context images of COCO crops', () => {
  it('sends the whole source image with the crop box scaled into it', async () => {
    const temp = tempDir();
    const ds = await Dataset.open(temp.dir, { user: 'ann' });
    try {
      await ds.importCoco({ annotations: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES, threads: 1 });
      const crop = ds.items({ limit: 1 })[0]!;
      expect(crop.box).not.toBeNull();
      const host = new SessionHost(ds);
      const ann = new Client(host);
      const [envelope] = await ann.send({ type: 'image', itemId: crop.id, maxSize: 320, context: true });
      const message = envelope!.message as Reply<'image'>;
      expect(message).toMatchObject({ type: 'image', itemId: crop.id, mime: 'image/jpeg' });
      const source = await sharp(`${SAMPLE_IMAGES}/${crop.sourceUri}`).metadata();
      const scale = message.width / source.width!;
      expect(Math.max(message.width, message.height)).toBe(320);
      expect(message.context!.box[0]).toBeCloseTo(crop.box![0] * scale, 0);
      expect(message.context!.box[2]).toBeCloseTo(crop.box![2] * scale, 0);
      expect((await sharp(Buffer.from(envelope!.buffers![0]!)).metadata()).width).toBe(message.width);
      host.close();
    } finally {
      ds.close();
      temp.cleanup();
    }
  });
});
