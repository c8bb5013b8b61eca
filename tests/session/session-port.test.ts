import { Dataset } from '../../src/dataset';
import type { EmbeddingMatrix } from '../../src/learn';
import { mulberry32 } from '../../src/random';
import { LabelingSession, SessionHost, type Envelope, type ServerMessage, type SessionSource } from '../../src/session';
import type { Store } from '../../src/store';
import { sampleCopy } from '../helpers/fixtures';

function randomEmbeddings(ids: number[], dim = 16): EmbeddingMatrix {
  const random = mulberry32(9);
  return { ids, dim, vectors: Float32Array.from({ length: ids.length * dim }, () => random() - 0.5) };
}

/** The dataset's real store, with every read and write the session makes through the port counted. */
function counting(store: Store): { store: Store; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: counted, calls };
}

describe('the session on its port', () => {
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

  it('runs on a store and a folder of images alone, and a label of a known class is one write and at most one read: of the items handed out in its place', async () => {
    const { store, calls } = counting(ds.store);
    const source: SessionSource = { root: data.dir, user: 'ann', store, pathOf: (item) => ds.pathOf(item) };
    const host = new SessionHost(source, { embeddings: randomEmbeddings(ds.items().map((item) => item.id)), ranker: 'margin', rescoreDelayMs: 1, thumbnailCache: false });
    await host.ready;
    const sent: Envelope<ServerMessage>[] = [];
    const session = new LabelingSession(host, (envelope) => sent.push(envelope), { prefetch: 4 });
    let requestId = 0;
    await session.handle({ type: 'hello', requestId: ++requestId });
    const queue = () => (sent.filter((e) => e.message.type === 'queue').at(-1)!.message as Extract<ServerMessage, { type: 'queue' }>).items;
    await session.handle({ type: 'label', requestId: ++requestId, itemId: queue()[0]!.id, label: 'cat' });
    await session.handle({ type: 'label', requestId: ++requestId, itemId: queue()[0]!.id, label: 'dog' });
    for (let n = 0; n < 5; n++) {
      calls.clear();
      const current = queue()[0]!;
      await session.handle({ type: 'label', requestId: ++requestId, itemId: current.id, label: n % 2 ? 'cat' : 'dog' });
      expect(sent.filter((e) => e.message.type === 'ack').at(-1)!.message).toMatchObject({ items: [{ id: current.id, label: n % 2 ? 'cat' : 'dog', labeledBy: 'ann' }] });
      expect(calls.get('actAndRead')).toBe(1);
      expect(calls.get('items') ?? 0).toBeLessThanOrEqual(1);
      expect([...calls.keys()].filter((name) => name !== 'actAndRead' && name !== 'items')).toEqual([]);
    }
    expect(ds.store.count({ labeled: true })).toBe(7);
    session.close();
    await host.close();
  });

  it('applies a write made elsewhere once, and never again the writes of its own sessions', async () => {
    const host = new SessionHost(ds, { followIntervalMs: 5, thumbnailCache: false });
    const sent: Envelope<ServerMessage>[] = [];
    const session = new LabelingSession(host, (envelope) => sent.push(envelope), { prefetch: 2 });
    await session.handle({ type: 'hello', requestId: 1 });
    const [first] = (sent.find((e) => e.message.type === 'queue')!.message as Extract<ServerMessage, { type: 'queue' }>).items;
    await session.handle({ type: 'label', requestId: 2, itemId: first!.id, label: 'cat' });
    await session.handle({ type: 'undo', requestId: 3 });
    await session.handle({ type: 'redo', requestId: 4 });
    const broadcasts = () => sent.filter((e) => e.message.type === 'items');
    const before = broadcasts().length;
    // A notebook cell on the same dataset writes past the session: the pages hear of it, once.
    const elsewhere = ds.store.act(first!.id, { kind: 'tags', tags: ['blurry'] });
    const heard = await new Promise<Extract<ServerMessage, { type: 'items' }>>((resolve) => {
      const stop = host.onBroadcast((envelope) => {
        if (envelope.message.type !== 'items') return;
        stop();
        resolve(envelope.message);
      });
    });
    expect(heard.items).toEqual([expect.objectContaining({ id: first!.id, tags: ['blurry'], label: 'cat', version: elsewhere.seq })]);
    // The session's own label, undo and redo were not broadcast again by the follower: only the write elsewhere was.
    expect(broadcasts().length - before).toBe(1);
    session.close();
    await host.close();
  });
});
