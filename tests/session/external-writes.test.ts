import { spawn } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Dataset } from '../../src/dataset';
import type { EmbeddingMatrix } from '../../src/learn';
import { mulberry32 } from '../../src/random';
import { LabelingSession, SessionHost, type Envelope, type ItemView, type ServerMessage } from '../../src/session';
import { REPO, sampleCopy } from '../helpers/fixtures';

const BIN = path.join(REPO, 'bin', 'quicksort.js');

function randomEmbeddings(ids: number[], dim = 16): EmbeddingMatrix {
  const random = mulberry32(3);
  return { ids, dim, vectors: Float32Array.from({ length: ids.length * dim }, () => random() - 0.5) };
}

/** Runs the CLI to its end (asynchronously: the test process may hold the store's lock meanwhile). */
function quicksort(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A page's end of a session: every message it was sent, and a promise for the first one that matches. */
class Page {
  readonly inbox: ServerMessage[] = [];
  readonly session: LabelingSession;
  private readonly waiters: { test: (message: ServerMessage) => boolean; resolve: (message: ServerMessage) => void }[] = [];
  private nextId = 1;

  constructor(host: SessionHost, user: string) {
    this.session = new LabelingSession(host, (envelope: Envelope<ServerMessage>) => this.receive(envelope.message), { user, prefetch: 4 });
  }

  private receive(message: ServerMessage): void {
    this.inbox.push(message);
    for (const waiter of [...this.waiters]) {
      if (!waiter.test(message)) continue;
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  }

  /** The first message from now on that passes `test`. */
  next<T extends ServerMessage>(test: (message: ServerMessage) => message is T): Promise<T> {
    return new Promise((resolve) => this.waiters.push({ test, resolve: resolve as (message: ServerMessage) => void }));
  }

  async send(message: Record<string, unknown>): Promise<ServerMessage[]> {
    const before = this.inbox.length;
    await this.session.handle({ requestId: this.nextId++, ...message });
    return this.inbox.slice(before);
  }

  queue(): number[] {
    const queue = [...this.inbox].reverse().find((message) => message.type === 'queue') as Extract<ServerMessage, { type: 'queue' }>;
    return queue.items.map((item) => item.id);
  }
}

const itemsWith = (id: number, test: (view: ItemView) => boolean) =>
  (message: ServerMessage): message is Extract<ServerMessage, { type: 'items' }> =>
    message.type === 'items' && message.items.some((view) => view.id === id && test(view));

describe('writes from other processes', () => {
  let data: ReturnType<typeof sampleCopy>;
  let ds: Dataset;
  let host: SessionHost;

  beforeEach(async () => {
    data = sampleCopy();
    ds = await Dataset.open(data.dir, { user: 'ann', busyTimeoutMs: 100 });
    await ds.ingest();
    host = new SessionHost(ds, { embeddings: randomEmbeddings(ds.items().map((item) => item.id)), ranker: 'chain', rescoreDelayMs: 1 });
  });
  afterEach(async () => {
    await host.close();
    ds.close();
    data.cleanup();
  });

  it('reach every page: a label by `quicksort label` is learned, broadcast, and leaves the queue that held it', async () => {
    const ann = new Page(host, 'ann');
    await ann.send({ type: 'hello' });
    const [, held] = ann.queue() as [number, number];

    const broadcast = ann.next(itemsWith(held, (view) => view.label === 'owl'));
    const classes = ann.next((message): message is Extract<ServerMessage, { type: 'classes' }> => message.type === 'classes' && message.classes.some((c) => c.name === 'owl'));
    const requeued = ann.next((message): message is Extract<ServerMessage, { type: 'queue' }> => message.type === 'queue' && !message.items.some((view) => view.id === held));
    const cli = await quicksort('label', '--dataset', data.dir, '--item', String(held), '--label', 'owl', '--user', 'cli');
    expect(cli).toMatchObject({ code: 0, stderr: '' });

    expect((await broadcast).items.find((view) => view.id === held)).toMatchObject({ label: 'owl', labelSource: 'human', labeledBy: 'cli' });
    expect((await classes).classes.find((c) => c.name === 'owl')).toMatchObject({ count: 1 });
    await requeued;
    expect(ann.queue()).not.toContain(held);
    expect(host.learner!.labelOf(held)).toBe('owl');
  }, 30_000);

  it('and a notebook cell on the same dataset reach the pages too; the pages\' own labels are not sent back', async () => {
    const ann = new Page(host, 'ann');
    await ann.send({ type: 'hello' });
    const [current] = ann.queue() as [number];
    await ann.send({ type: 'label', itemId: current, label: 'cat' });

    const other = ds.items({ where: { labeled: false }, limit: 1 })[0]!.id;
    const broadcast = ann.next(itemsWith(other, (view) => view.label === 'dog'));
    ds.label(other, 'dog'); // what a cell does, through the very Dataset the widget's host uses
    const { items } = await broadcast;
    // Whether one look at the log found both events or not, only the one this host did not write comes back.
    expect(items.map((view) => view.id)).not.toContain(current);
  }, 30_000);

  it('while another process holds the write lock, a label is refused `busy`, retryable, with the reason; nothing is saved', async () => {
    const ann = new Page(host, 'ann');
    await ann.send({ type: 'hello' });
    const [current] = ann.queue() as [number];
    const other = new Database(ds.store.file);
    try {
      other.exec('BEGIN IMMEDIATE');
      const replies = await ann.send({ type: 'label', itemId: current, label: 'cat' });
      expect(replies[0]).toMatchObject({ type: 'refused', code: 'busy', retryable: true, reason: expect.stringMatching(/busy with another writer.*retry/) });
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
    expect(ds.store.item(current).label).toBeNull();
    expect(ann.queue()[0]).toBe(current);
    // The same request again, once the lock is free, is saved.
    expect((await ann.send({ type: 'label', itemId: current, label: 'cat' }))[0]).toMatchObject({ type: 'ack' });
  }, 30_000);

  it('the CLI says the dataset is busy, without a stack trace, and exits 75 (retry)', async () => {
    const [item] = ds.items({ limit: 1 });
    const other = new Database(ds.store.file);
    try {
      other.exec('BEGIN IMMEDIATE');
      // The CLI waits its full busy timeout (5 s) for the lock before it gives up.
      const cli = await quicksort('label', '--dataset', data.dir, '--item', String(item!.id), '--label', 'cat');
      expect(cli.code).toBe(75);
      expect(cli.stderr).toMatch(/^quicksort: the dataset's store .*quicksort\.db is busy with another writer.*retry in a moment\n$/);
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
    expect(ds.store.item(item!.id).label).toBeNull();
  }, 30_000);
});
