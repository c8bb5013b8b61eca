import type { Incoming, ReplyHandler, Request, SessionConnection } from '../../widget/src/client/session-client';
import { ImageLoader, PRIORITY } from '../../widget/src/client/image-loader';

/** A connection that records requests and lets the test answer them. */
class FakeConnection implements SessionConnection {
  readonly sent: { message: Request; reply: ReplyHandler }[] = [];
  request(message: Request, onReply?: ReplyHandler): number {
    this.sent.push({ message, reply: onReply ?? (() => undefined) });
    return this.sent.length;
  }
  onPush(): void {}
  answer(index: number, incoming: Omit<Incoming, 'buffers'> & { buffers?: Uint8Array[] }): void {
    this.sent[index]!.reply({ buffers: [], ...incoming } as Incoming);
  }
}

/** The browser's Image, as far as the loader uses it: decodes anything but 'data:bad'. */
class FakeImage {
  decoding = '';
  src = '';
  naturalWidth = 128;
  naturalHeight = 96;
  decode(): Promise<void> {
    return this.src.startsWith('data:bad') ? Promise.reject(new Error('bad')) : Promise.resolve();
  }
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('image loader', () => {
  const created: string[] = [];
  beforeAll(() => {
    (globalThis as { Image?: unknown }).Image = FakeImage;
    (globalThis as { URL: typeof URL }).URL.createObjectURL = () => {
      created.push('blob');
      return `blob:fake-${created.length}`;
    };
    (globalThis as { URL: typeof URL }).URL.revokeObjectURL = () => undefined;
  });
  afterAll(() => {
    delete (globalThis as { Image?: unknown }).Image;
  });

  it('asks for the thumbnails of one render in one batch and shows them as data: URLs, with no Blob', async () => {
    const connection = new FakeConnection();
    const loader = new ImageLoader(connection, { batchSize: 24 });
    for (let id = 1; id <= 30; id++) loader.load(id, 128, PRIORITY.visible);
    expect(connection.sent).toHaveLength(0); // gathered until the end of the task
    await flush();
    expect(connection.sent.map((s) => s.message)).toEqual([
      // newest asks first: what scrolled into view last is on screen
      { type: 'thumbnails', itemIds: Array.from({ length: 24 }, (_, i) => 30 - i), maxSize: 128 },
      { type: 'thumbnails', itemIds: [6, 5, 4, 3, 2, 1], maxSize: 128 },
    ]);
    connection.answer(1, {
      message: {
        type: 'thumbnails', requestId: 2, size: 128,
        images: [
          { itemId: 6, mime: 'image/jpeg', width: 128, height: 96, data: 'AAAA' },
          { itemId: 5, problem: 'the image of item 5 (a.jpg) cannot be read: the file is gone' },
          { itemId: 4, mime: 'bad', width: 1, height: 1, data: 'AAAA' },
        ],
      },
    });
    await flush();
    expect(loader.entry(6, 128)).toMatchObject({ state: 'ready', url: 'data:image/jpeg;base64,AAAA', width: 128 });
    expect(loader.entry(6, 128).element).toBeUndefined();
    expect(loader.entry(5, 128)).toMatchObject({ state: 'error', error: expect.stringMatching(/file is gone/) });
    // Ready without a decode() first; the <img> that fails to decode it says so.
    expect(loader.entry(4, 128)).toMatchObject({ state: 'ready', url: 'data:bad;base64,AAAA' });
    loader.broken(loader.entry(4, 128));
    expect(loader.entry(4, 128)).toMatchObject({ state: 'error', error: 'the browser could not decode the image' });
    // Left out of the reply: asked for again next time, not stuck.
    expect(loader.entry(3, 128).state).toBe('idle');
    expect(created).toHaveLength(0);
  });

  it('keeps focus images on `image` requests (object URL, decoded element kept)', async () => {
    const connection = new FakeConnection();
    const loader = new ImageLoader(connection);
    loader.load(7, 1024, PRIORITY.current);
    loader.load(8, 384, PRIORITY.next, true); // a context image is never batched
    await flush();
    expect(connection.sent.map((s) => s.message)).toEqual([
      { type: 'image', itemId: 7, maxSize: 1024 },
      { type: 'image', itemId: 8, maxSize: 384, context: true },
    ]);
    connection.answer(0, { message: { type: 'image', requestId: 1, itemId: 7, mime: 'image/jpeg', width: 800, height: 600 }, buffers: [new Uint8Array([0xff, 0xd8])] });
    await flush();
    expect(loader.entry(7, 1024)).toMatchObject({ state: 'ready', url: expect.stringMatching(/^blob:/), element: expect.any(FakeImage) });
  });

  it('falls back to one `image` request per thumbnail when the engine does not know `thumbnails`', async () => {
    const connection = new FakeConnection();
    const loader = new ImageLoader(connection);
    loader.load(1, 128, PRIORITY.visible);
    loader.load(2, 128, PRIORITY.visible);
    await flush();
    connection.answer(0, { message: { type: 'refused', requestId: 1, code: 'protocol', reason: 'quicksort: unknown message type "thumbnails"; expected one of …' } });
    expect(connection.sent.slice(1).map((s) => s.message)).toEqual([
      { type: 'image', itemId: 1, maxSize: 128 },
      { type: 'image', itemId: 2, maxSize: 128 },
    ]);
    connection.answer(1, { message: { type: 'image', requestId: 2, itemId: 1, mime: 'image/jpeg', width: 128, height: 96 }, buffers: [new Uint8Array([0xff, 0xd8, 0xff])] });
    await flush();
    expect(loader.entry(1, 128)).toMatchObject({ state: 'ready', url: 'data:image/jpeg;base64,/9j/' });
  });

  it('keeps at most maxThumbnails thumbnails, the least recently used going first', async () => {
    const connection = new FakeConnection();
    const loader = new ImageLoader(connection, { maxThumbnails: 10, batchSize: 64 });
    for (let id = 1; id <= 30; id++) loader.load(id, 128, PRIORITY.visible);
    await flush();
    connection.answer(0, {
      message: { type: 'thumbnails', requestId: 1, size: 128, images: Array.from({ length: 30 }, (_, i) => ({ itemId: 30 - i, mime: 'image/jpeg', width: 128, height: 96, data: 'AAAA' })) },
    });
    await flush();
    expect(loader.counts().ready).toBe(10);
  });
});
