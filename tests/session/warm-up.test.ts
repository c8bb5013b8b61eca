import { Dataset } from '../../src/dataset';
import { mulberry32 } from '../../src/random';
import type { EmbeddingMatrix } from '../../src/learn';
import { LabelingSession, SessionHost, type Envelope, type ServerMessage } from '../../src/session';
import { sampleCopy } from '../helpers/fixtures';

/*
 * The learner's start-up (every stored label learned, a full fit) can take tens of seconds on a labeled
 * dataset; past its budget it runs in slices of the event loop, so a server listens at once. Pages that
 * connect meanwhile still work, and what they do is learned when the learner is ready.
 */

function randomEmbeddings(ids: number[], dim = 64): EmbeddingMatrix {
  const random = mulberry32(5);
  return { ids, dim, vectors: Float32Array.from({ length: ids.length * dim }, () => random() - 0.5) };
}

const CLASSES = ['cat', 'dog', 'owl'];

describe('the learner starts in the background', () => {
  let data: ReturnType<typeof sampleCopy>;
  let ds: Dataset;
  let embeddings: EmbeddingMatrix;
  const hosts: SessionHost[] = [];

  beforeEach(async () => {
    data = sampleCopy();
    ds = await Dataset.open(data.dir, { user: 'ann' });
    await ds.ingest();
    const items = ds.items();
    embeddings = randomEmbeddings(items.map((item) => item.id));
    ds.labelMany(items.slice(0, 30).map((item, n) => ({ id: item.id, label: CLASSES[n % 3]! })));
  });
  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.close();
    ds.close();
    data.cleanup();
  });

  const open = (warmUpBudgetMs?: number) => {
    const host = new SessionHost(ds, { embeddings, ranker: 'margin', rescoreDelayMs: 1, warmUpBudgetMs });
    hosts.push(host);
    return host;
  };

  it('learns exactly what a start at once learns', async () => {
    const atOnce = open(Infinity);
    expect(atOnce.learner).toBeDefined();
    const later = open(0);
    expect(later.learner).toBeUndefined();
    await later.ready;
    const weights = (host: SessionHost) => {
      const head = host.learner!.head.exportWeights();
      return { classes: head.classes, weights: [...head.weights], bias: [...head.bias], temperature: head.temperature };
    };
    expect(weights(later)).toEqual(weights(atOnce));
    // The same scores; in the background they may come from the SIMD scorer, which rounds its own way.
    const [scores, expected] = [later.learner!.probabilities!, atOnce.learner!.probabilities!];
    expect(scores).toHaveLength(expected.length);
    for (let i = 0; i < expected.length; i++) expect(scores[i]).toBeCloseTo(expected[i]!, 5);
  });

  it('refits the head in the background after a label, not before answering it', async () => {
    const host = new SessionHost(ds, { embeddings, ranker: 'margin', rescoreDelayMs: 1, refitEvery: 2 });
    hosts.push(host);
    const inbox: Envelope<ServerMessage>[] = [];
    const session = new LabelingSession(host, (envelope) => inbox.push(envelope), { user: 'ann', prefetch: 2 });
    await session.handle({ requestId: 1, type: 'hello' });
    const head = host.learner!.head;
    expect(head.learnedSinceFit).toBe(0); // the warm-up ended with a full fit
    const queued = () => (inbox.filter((e) => e.message.type === 'queue').at(-1)!.message as Extract<ServerMessage, { type: 'queue' }>).items;
    await session.handle({ requestId: 2, type: 'label', itemId: queued()[0]!.id, label: 'owl' });
    await session.handle({ requestId: 3, type: 'label', itemId: queued()[0]!.id, label: 'cat' });
    // The second label started a refit; its answer did not wait for it.
    expect(inbox.some((e) => e.message.type === 'ack' && (e.message as { requestId: number }).requestId === 3)).toBe(true);
    expect(head.learnedSinceFit).toBe(2);
    const weightsBefore = [...head.exportWeights().weights];
    await host.settled();
    expect(head.learnedSinceFit).toBe(0);
    expect([...head.exportWeights().weights]).not.toEqual(weightsBefore);
    expect(host.learner!.labeledCount).toBe(32);
  });

  it('serves a page that connects before it is ready, and learns its labels when it is', async () => {
    const host = open(0);
    const inbox: Envelope<ServerMessage>[] = [];
    const session = new LabelingSession(host, (envelope) => inbox.push(envelope), { user: 'ann', prefetch: 2 });
    await session.handle({ requestId: 1, type: 'hello' });
    expect(host.learner).toBeUndefined();
    const welcome = inbox.find((e) => e.message.type === 'welcome')!.message as Extract<ServerMessage, { type: 'welcome' }>;
    expect(welcome.stats).toMatchObject({ labeled: 30, hasEmbeddings: true });
    const queue = () => (inbox.filter((e) => e.message.type === 'queue').at(-1)!.message as Extract<ServerMessage, { type: 'queue' }>).items;
    const [first, ...held] = queue().map((item) => item.id);
    expect(held.length).toBeGreaterThan(0);
    await session.handle({ requestId: 2, type: 'label', itemId: first!, label: 'owl' });
    expect(host.learner).toBeUndefined();
    // Neighbours asked meanwhile are answered once the learner knows the labels, never as an empty strip.
    const neighbours = session.handle({ requestId: 3, type: 'neighbors', itemId: held[0]!, k: 4 });
    expect(inbox.some((e) => e.message.type === 'neighbors')).toBe(false);

    const before = inbox.length;
    await host.ready;
    await neighbours;
    const strip = inbox.find((e) => e.message.type === 'neighbors')!.message as Extract<ServerMessage, { type: 'neighbors' }>;
    expect(strip.items).toHaveLength(4);
    for (const item of strip.items) expect(item.label).toBeTruthy();
    expect(host.learner!.labelOf(first!)).toBe('owl');
    expect(host.learner!.labeledCount).toBe(31);
    // The items the page holds come again, now with the head's suggestion, and nobody else gets them.
    const update = inbox.slice(before).find((e) => e.message.type === 'items')!.message as Extract<ServerMessage, { type: 'items' }>;
    const stillHeld = queue().map((item) => item.id);
    expect(update.items.map((item) => item.id).sort()).toEqual([...stillHeld].sort());
    for (const item of update.items) expect(CLASSES).toContain(item.suggestion?.label);
    const others = host.learner!.next(10).map((pick) => pick.id);
    for (const id of stillHeld) expect(others).not.toContain(id);
  });
});
