import { copyFileSync, unlinkSync } from 'node:fs';
import { Dataset } from '../../src/dataset';
import { mulberry32 } from '../../src/random';
import type { EmbeddingMatrix } from '../../src/learn';
import { LabelingSession, SessionHost, type Envelope, type ServerMessage } from '../../src/session';
import { sampleCopy } from '../helpers/fixtures';

/** Random embeddings for the dataset's items: the session does not care where vectors come from. */
function randomEmbeddings(ids: number[], dim = 16): EmbeddingMatrix {
  const random = mulberry32(5);
  return { ids, dim, vectors: Float32Array.from({ length: ids.length * dim }, () => random() - 0.5) };
}

class Client {
  readonly inbox: Envelope<ServerMessage>[] = [];
  readonly session: LabelingSession;
  private nextId = 1;
  constructor(host: SessionHost, user: string) {
    this.session = new LabelingSession(host, (envelope) => this.inbox.push(envelope), { user, prefetch: 4 });
  }
  async send(message: Record<string, unknown>): Promise<ServerMessage[]> {
    const requestId = this.nextId++;
    const before = this.inbox.length;
    await this.session.handle({ requestId, ...message });
    return this.inbox.slice(before).map((e) => e.message);
  }
  lastQueue(): number[] {
    const queue = [...this.inbox].reverse().find((e) => e.message.type === 'queue')!.message as Extract<ServerMessage, { type: 'queue' }>;
    return queue.items.map((item) => item.id);
  }
}

describe('labeling session', () => {
  let data: ReturnType<typeof sampleCopy>;
  let ds: Dataset;
  let host: SessionHost;

  beforeEach(async () => {
    data = sampleCopy();
    ds = await Dataset.open(data.dir, { user: 'ann' });
    await ds.ingest();
    host = new SessionHost(ds, { embeddings: randomEmbeddings(ds.items().map((i) => i.id)), ranker: 'chain', rescoreDelayMs: 1 });
  });
  afterEach(async () => {
    await host.close();
    ds.close();
    data.cleanup();
  });

  it('welcomes with classes, rankers and stats, and a prefetched queue', async () => {
    const ann = new Client(host, 'ann');
    const replies = await ann.send({ type: 'hello' });
    expect(replies[0]).toMatchObject({ type: 'welcome', protocol: 1, user: 'ann', ranker: 'chain', stats: { items: 36, labeled: 0, hasEmbeddings: true } });
    expect((replies[0] as { rankers: unknown[] }).rankers.length).toBe(8);
    expect(ann.lastQueue()).toHaveLength(5);
  });

  it('labels the current item, keeps the next one current, learns, and never hands out an item twice', async () => {
    const ann = new Client(host, 'ann');
    const bob = new Client(host, 'bob');
    await ann.send({ type: 'hello' });
    await bob.send({ type: 'hello' });
    const seen = new Set<number>([...ann.lastQueue(), ...bob.lastQueue()]);
    expect(seen.size).toBe(10);

    for (let n = 0; n < 12; n++) {
      const [current, next] = ann.lastQueue();
      const replies = await ann.send({ type: 'label', itemId: current, label: n % 2 ? 'cat' : 'dog' });
      expect(replies[0]).toMatchObject({ type: 'ack', items: [{ id: current, label: n % 2 ? 'cat' : 'dog', labeledBy: 'ann' }] });
      expect(ann.lastQueue()[0]).toBe(next);
      for (const id of ann.lastQueue().slice(1)) {
        expect(bob.lastQueue()).not.toContain(id);
      }
    }
    expect(ds.stats().labeledByHuman).toBe(12);
    // The head learned: the current item carries a suggestion now.
    const queue = [...ann.inbox].reverse().find((e) => e.message.type === 'queue')!.message as Extract<ServerMessage, { type: 'queue' }>;
    expect(queue.items[0]!.suggestion).toMatchObject({ label: expect.stringMatching(/cat|dog/) });
    const accepted = await ann.send({ type: 'accept', itemId: queue.items[0]!.id });
    expect(accepted[0]).toMatchObject({ type: 'ack', items: [{ label: queue.items[0]!.suggestion!.label }] });
    const stats = (await ann.send({ type: 'stats' }))[0] as Extract<ServerMessage, { type: 'stats' }>;
    expect(stats.stats).toMatchObject({ labeled: 13, sessionLabels: 13 });
    expect(stats.stats.acceptedRate).toBeGreaterThan(0);
  });

  it('accepts the suggestion the person was shown, even when the head moved since (another person labeled)', async () => {
    const ann = new Client(host, 'ann');
    const bob = new Client(host, 'bob');
    await ann.send({ type: 'hello' });
    await bob.send({ type: 'hello' });
    for (let n = 0; n < 4; n++) await ann.send({ type: 'label', itemId: ann.lastQueue()[0], label: n % 2 ? 'cat' : 'dog' });
    // Ann's screen: her current item with the suggestion the engine sent her after her last label.
    const onScreen = ([...ann.inbox].reverse().find((e) => e.message.type === 'queue')!.message as Extract<ServerMessage, { type: 'queue' }>).items[0]!;
    const shown = onScreen.suggestion!.label;
    const other = shown === 'cat' ? 'dog' : 'cat';
    // Bob labels on, all the other class, until the head changed its mind about Ann's item.
    for (let n = 0; n < 30 && host.suggestionFor(ds.item(onScreen.id))!.label === shown; n++) {
      await bob.send({ type: 'label', itemId: bob.lastQueue()[0], label: other });
    }
    expect(host.suggestionFor(ds.item(onScreen.id))!.label).toBe(other);
    const acceptedBefore = async () => {
      const { stats } = (await ann.send({ type: 'stats' }))[0] as Extract<ServerMessage, { type: 'stats' }>;
      return Math.round((stats.acceptedRate ?? 0) * stats.sessionLabels);
    };
    const before = await acceptedBefore();
    // Enter on Ann's screen: what she saw is what is stored, and it counts as an accepted suggestion.
    const replies = await ann.send({ type: 'accept', itemId: onScreen.id, label: shown });
    expect(replies[0]).toMatchObject({ type: 'ack', items: [{ id: onScreen.id, label: shown, labelSource: 'human', labeledBy: 'ann' }] });
    expect(ds.item(onScreen.id).label).toBe(shown);
    expect(await acceptedBefore()).toBe(before + 1);
    // A client that does not say what it showed gets the head's suggestion as it stands.
    const next = ann.lastQueue()[0]!;
    const current = host.suggestionFor(ds.item(next))!.label;
    expect((await ann.send({ type: 'accept', itemId: next }))[0]).toMatchObject({ type: 'ack', items: [{ id: next, label: current }] });
    expect((await ann.send({ type: 'accept', itemId: ann.lastQueue()[0], label: 7 }))[0]).toMatchObject({ type: 'refused', reason: expect.stringMatching(/field label must be string \(optional\)/) });
  });

  it('closes after the re-score in flight, and re-scores no more', async () => {
    const ann = new Client(host, 'ann');
    await ann.send({ type: 'hello' });
    for (let n = 0; n < 4; n++) await ann.send({ type: 'label', itemId: ann.lastQueue()[0], label: n % 2 ? 'cat' : 'dog' });
    // Labels keep re-scores coming; closing now waits for the one running instead of tearing its worker down.
    await host.close();
    host.wrote([], [ds.item(ann.lastQueue()[0]!)]);
    await expect(Promise.race([host.settled().then(() => 'settled'), new Promise((resolve) => setTimeout(resolve, 5000, 'still re-scoring'))])).resolves.toBe('settled');
  });

  it('reports a label on an item someone else labeled first', async () => {
    const ann = new Client(host, 'ann');
    const bob = new Client(host, 'bob');
    await ann.send({ type: 'hello' });
    const [current] = ann.lastQueue();
    const version = ds.item(current!).version;
    await ann.send({ type: 'label', itemId: current, label: 'cat', version });
    const stale = await bob.send({ type: 'label', itemId: current, label: 'dog', version });
    expect(stale[0]).toMatchObject({ type: 'refused', code: 'conflict', items: [{ id: current, label: 'cat', labeledBy: 'ann' }] });
    expect((stale[0] as { reason: string }).reason).toMatch(/labeled "cat" by ann/);
    const noVersion = await bob.send({ type: 'label', itemId: current, label: 'dog' });
    expect(noVersion[0]).toMatchObject({ type: 'refused', code: 'conflict' });
    expect(ds.item(current!).label).toBe('cat');
  });

  it('undo brings the item back to the front and out of the head', async () => {
    const ann = new Client(host, 'ann');
    await ann.send({ type: 'hello' });
    const [first] = ann.lastQueue();
    await ann.send({ type: 'label', itemId: first, label: 'cat' });
    expect(host.learner!.labelOf(first!)).toBe('cat');
    const replies = await ann.send({ type: 'undo' });
    expect(replies[0]).toMatchObject({ type: 'ack', items: [{ id: first, label: null }] });
    expect(ann.lastQueue()[0]).toBe(first);
    expect(host.learner!.labelOf(first!)).toBeUndefined();
    await ann.send({ type: 'redo' });
    expect(ds.item(first!).label).toBe('cat');
    expect(host.learner!.labelOf(first!)).toBe('cat');
  });

  it('accepts a grid page with corrections as one undoable batch', async () => {
    const ann = new Client(host, 'ann');
    await ann.send({ type: 'hello' });
    const ids = ann.lastQueue();
    for (const id of ids.slice(0, 2)) await ann.send({ type: 'label', itemId: id, label: id % 2 ? 'cat' : 'dog' });
    const page = (await ann.send({ type: 'page', size: 6 }))[0] as Extract<ServerMessage, { type: 'page' }>;
    expect(page.items.length).toBeGreaterThan(0);
    const pageIds = page.items.map((item) => item.id);
    await ann.send({ type: 'accept_page', label: 'cat', itemIds: pageIds, corrections: [{ itemId: pageIds[0], label: 'dog' }] });
    expect(ds.item(pageIds[0]!).label).toBe('dog');
    for (const id of pageIds.slice(1)) expect(ds.item(id).label).toBe('cat');
    await ann.send({ type: 'undo' });
    for (const id of pageIds) expect(ds.item(id).label).toBeNull();
  });

  it('refuses bad messages with a reason, and serves images or says why not', async () => {
    const ann = new Client(host, 'ann');
    await ann.send({ type: 'hello' });
    expect((await ann.send({ type: 'paint' }))[0]).toMatchObject({ type: 'refused', code: 'protocol', reason: expect.stringMatching(/unknown message type "paint"/) });
    expect((await ann.send({ type: 'label', itemId: 'x', label: 'cat' }))[0]).toMatchObject({ reason: expect.stringMatching(/field itemId must be integer/) });
    expect((await ann.send({ type: 'label', itemId: 99999, label: 'cat' }))[0]).toMatchObject({ code: 'not_found' });
    expect((await ann.send({ type: 'set_ranker', ranker: 'best' }))[0]).toMatchObject({ reason: expect.stringMatching(/choose one of/) });
    await ann.session.handle('not json at all');
    expect(ann.inbox.at(-1)!.message).toMatchObject({ type: 'refused', requestId: -1, code: 'protocol' });

    const [current] = ann.lastQueue();
    await ann.send({ type: 'image', itemId: current, maxSize: 128 });
    const image = ann.inbox.at(-1)!;
    expect(image.message).toMatchObject({ type: 'image', itemId: current, mime: 'image/jpeg' });
    expect(Math.max((image.message as { width: number }).width, (image.message as { height: number }).height)).toBe(128);
    expect(image.buffers![0]![0]).toBe(0xff);

    unlinkSync(ds.pathOf(ds.item(current!)));
    const missing = (await ann.send({ type: 'image', itemId: current }))[0];
    expect(missing).toMatchObject({ type: 'refused', code: 'not_found', reason: expect.stringMatching(/cannot be read/) });
  });

  it('works without embeddings: items in order, no suggestions', async () => {
    const plain = new SessionHost(ds);
    const ann = new Client(plain, 'ann');
    await ann.send({ type: 'hello' });
    expect(ann.lastQueue()).toEqual([1, 2, 3, 4, 5]);
    await ann.send({ type: 'label', itemId: 1, label: 'cat' });
    expect(ann.lastQueue()).toEqual([2, 3, 4, 5, 6]);
    plain.close();
  });

  it('shows every app the progress of long work on the dataset started elsewhere, ending at the total', async () => {
    const ann = new Client(host, 'ann');
    await ann.send({ type: 'hello' });
    const before = ann.inbox.length;
    copyFileSync(`${data.dir}/${ds.item(1).uri}`, `${data.dir}/copy-of-one.jpg`); // something new to ingest
    await ds.ingest(); // e.g. a notebook cell while the app is open
    const progress = ann.inbox.slice(before).map((e) => e.message).filter((m) => m.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((m) => m.task === 'ingest')).toBe(true);
    const items = ds.stats().items;
    expect(progress.at(-1)).toEqual({ type: 'progress', task: 'ingest', done: items, total: items });
    // A closed host stops following the dataset.
    await host.close();
    const after = ann.inbox.length;
    await ds.ingest();
    expect(ann.inbox.length).toBe(after);
  });
});
