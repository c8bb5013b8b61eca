import { Dataset } from '../../src/dataset';
import { LabelingSession, SessionHost, type Envelope, type ServerMessage } from '../../src/session';
import { sampleCopy } from '../helpers/fixtures';

/**
 * Actions with idempotency keys (issue 17): a page that lost its connection sends again what it heard no answer
 * to, on a new session, with the same keys; the engine applies each action once and answers the resend as the
 * first time. Real sessions on a real store; a reconnect is a new LabelingSession of the same user.
 */
class Client {
  readonly inbox: Envelope<ServerMessage>[] = [];
  readonly session: LabelingSession;
  private nextId = 1;
  constructor(host: SessionHost, user = 'ann') {
    this.session = new LabelingSession(host, (envelope) => this.inbox.push(envelope), { user, prefetch: 4 });
  }
  /** The reply to this request (ack, refused…). */
  async send(message: Record<string, unknown>): Promise<ServerMessage> {
    const requestId = this.nextId++;
    await this.session.handle({ requestId, ...message });
    return this.inbox.map((e) => e.message).find((m) => 'requestId' in m && m.requestId === requestId)!;
  }
  lastQueue(): number[] {
    const queue = [...this.inbox].reverse().find((e) => e.message.type === 'queue')!.message as Extract<ServerMessage, { type: 'queue' }>;
    return queue.items.map((item) => item.id);
  }
}

describe('actions with idempotency keys', () => {
  let data: ReturnType<typeof sampleCopy>;
  let ds: Dataset;
  let host: SessionHost;

  async function openHost() {
    ds = await Dataset.open(data.dir, { user: 'ann' });
    host = new SessionHost(ds);
  }
  async function closeHost() {
    await host.close();
    ds.close();
  }
  const humanEvents = () => ds.store.events().filter((event) => event.kind === 'label');

  beforeEach(async () => {
    data = sampleCopy();
    await openHost();
    await ds.ingest();
    for (const name of ['cat', 'dog']) ds.addClass(name);
  });
  afterEach(async () => {
    await closeHost();
    data.cleanup();
  });

  it('applies a keyed label once: the resend on a new session is acknowledged with the item as it is now', async () => {
    const first = new Client(host);
    await first.send({ type: 'hello' });
    const [itemId] = first.lastQueue();
    expect(await first.send({ type: 'label', itemId, label: 'cat', idempotencyKey: 'page-1:1' })).toMatchObject({ type: 'ack', items: [{ id: itemId, label: 'cat' }] });
    first.session.close();

    const again = new Client(host);
    await again.send({ type: 'hello' });
    const reply = await again.send({ type: 'label', itemId, label: 'cat', idempotencyKey: 'page-1:1' });
    expect(reply).toMatchObject({ type: 'ack', items: [{ id: itemId, label: 'cat', labelSource: 'human', labeledBy: 'ann' }] });
    expect(humanEvents()).toHaveLength(1);
    // The same resend twice more, and on the first session's heels: still one event.
    await again.send({ type: 'label', itemId, label: 'cat', idempotencyKey: 'page-1:1' });
    expect(humanEvents()).toHaveLength(1);
    expect(again.lastQueue()).not.toContain(itemId);
    again.session.close();
  });

  it('applies a keyed accept_page once: one batch, whatever the resends', async () => {
    const client = new Client(host);
    await client.send({ type: 'hello' });
    const page = { type: 'accept_page', label: 'dog', itemIds: [5, 6, 7], corrections: [{ itemId: 6, label: 'cat' }], idempotencyKey: 'page-1:2' };
    await client.send(page);
    const reply = await client.send(page);
    expect(reply).toMatchObject({ type: 'ack', items: [{ id: 5, label: 'dog' }, { id: 6, label: 'cat' }, { id: 7, label: 'dog' }] });
    const events = humanEvents();
    expect(events).toHaveLength(3);
    expect(new Set(events.map((event) => event.batch)).size).toBe(1);
    client.session.close();
  });

  it('undoes once for a keyed undo sent twice, and answers the resend with the undone items', async () => {
    const client = new Client(host);
    await client.send({ type: 'hello' });
    await client.send({ type: 'label', itemId: 1, label: 'cat', idempotencyKey: 'k:1' });
    await client.send({ type: 'label', itemId: 2, label: 'dog', idempotencyKey: 'k:2' });
    await client.send({ type: 'undo', idempotencyKey: 'k:3' });
    const reply = await client.send({ type: 'undo', idempotencyKey: 'k:3' });
    expect(reply).toMatchObject({ type: 'ack', items: [{ id: 2, label: null }] });
    // Only item 2's label was taken back: a second undo would have taken item 1's too.
    expect(ds.item(1).label).toBe('cat');
    expect(ds.store.events().filter((event) => event.kind === 'undo')).toHaveLength(1);
    client.session.close();
  });

  it('refuses a key used before for another action, naming the key, and applies nothing', async () => {
    const client = new Client(host);
    await client.send({ type: 'hello' });
    await client.send({ type: 'label', itemId: 1, label: 'cat', idempotencyKey: 'page-1:7' });
    const reply = await client.send({ type: 'label', itemId: 1, label: 'dog', idempotencyKey: 'page-1:7' });
    expect(reply).toMatchObject({ type: 'refused', code: 'invalid_argument' });
    expect((reply as { reason: string }).reason).toContain('"page-1:7"');
    expect(ds.item(1).label).toBe('cat');
    expect(humanEvents()).toHaveLength(1);
    // Keys are the user's own: another user's page may use the same string.
    const bob = new Client(host, 'bob');
    await bob.send({ type: 'hello' });
    expect(await bob.send({ type: 'caption', itemId: 3, caption: 'a cat', idempotencyKey: 'page-1:7' })).toMatchObject({ type: 'ack' });
    client.session.close();
    bob.session.close();
  });

  it('records no key for a refused action: its resend is tried again', async () => {
    const client = new Client(host);
    await client.send({ type: 'hello' });
    const stale = { type: 'label', itemId: 4, label: 'cat', version: 99, idempotencyKey: 'k:9' };
    expect(await client.send(stale)).toMatchObject({ type: 'refused', code: 'conflict' });
    expect(ds.store.actionKey('ann', 'k:9')).toBeUndefined();
    // Sent again, the same message is judged again (a conflict again), not answered from a key.
    expect(await client.send(stale)).toMatchObject({ type: 'refused', code: 'conflict' });
    // The key is still free for the action once it can be applied.
    expect(await client.send({ ...stale, version: ds.item(4).version })).toMatchObject({ type: 'ack', items: [{ id: 4, label: 'cat' }] });
    client.session.close();
  });

  it('keeps the keys when the store is closed and opened again (a server restarted)', async () => {
    const first = new Client(host);
    await first.send({ type: 'hello' });
    await first.send({ type: 'skip', itemId: 8, idempotencyKey: 'p:1' });
    await first.send({ type: 'add_class', name: 'bird', key: 'b', idempotencyKey: 'p:2' });
    first.session.close();
    await closeHost();

    await openHost();
    const again = new Client(host);
    await again.send({ type: 'hello' });
    expect(await again.send({ type: 'skip', itemId: 8, idempotencyKey: 'p:1' })).toMatchObject({ type: 'ack', items: [{ id: 8, skipped: true }] });
    expect(await again.send({ type: 'add_class', name: 'bird', key: 'b', idempotencyKey: 'p:2' })).toEqual({ type: 'ack', requestId: expect.any(Number) });
    expect(ds.store.events().filter((event) => event.kind === 'skip')).toHaveLength(1);
    again.session.close();
  });

  it('refuses a key that is not a string of 1 to 128 characters, naming the field', async () => {
    const client = new Client(host);
    await client.send({ type: 'hello' });
    for (const idempotencyKey of ['', 'x'.repeat(129), 7]) {
      const reply = await client.send({ type: 'label', itemId: 1, label: 'cat', idempotencyKey });
      expect(reply).toMatchObject({ type: 'refused', code: 'protocol' });
      expect((reply as { reason: string }).reason).toContain('field idempotencyKey');
    }
    expect(humanEvents()).toHaveLength(0);
    client.session.close();
  });
});
