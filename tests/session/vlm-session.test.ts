import { Dataset } from '../../src/dataset';
import { loadEmbeddings } from '../../src/embed';
import { SessionHost, type ServerMessage, type VlmLoopOptions } from '../../src/session';
import { SessionTestClient as Client, type Message } from './session-test-client';
import { createVlmClient } from '../../src/vlm';
import { colourDataset, type ColourDataset } from '../vlm/colour-dataset';
import { startFakeVlm, type FakeVlm } from '../vlm/fake-vlm-server';

/*
 * The VLM assist inside a labeling session: a session host on generated colour swatches (embedded with the
 * default ONNX model, 3 of each of 8 colours labelled by a person) asks the loopback fake VLM about the head's
 * hard cases in the background; the fake answers with the class of the demonstration most like the image,
 * so a suggestion is right only when the right examples were retrieved. Suggestions and caption drafts reach
 * the pages, and a person accepts or turns them down.
 */


const vlmIdle = (m: ServerMessage) => m.type === 'vlm' && m.state.status === 'idle' && m.state.asked > 0;

describe('the VLM assist in a labeling session', () => {
  jest.setTimeout(120_000);
  let data: ColourDataset;
  let fake: FakeVlm;
  let ds: Dataset;
  const hosts: SessionHost[] = [];

  beforeAll(async () => {
    data = await colourDataset();
    fake = await startFakeVlm();
    ds = await Dataset.open(data.dir, { user: 'ann' });
  });
  afterAll(async () => {
    for (const host of hosts) await host.close();
    ds?.close();
    await fake?.close();
    data?.cleanup();
  });

  function hostWith(vlm: VlmLoopOptions | false | undefined): SessionHost {
    const host = new SessionHost(ds, { embeddings: loadEmbeddings(ds.root, { store: ds.store }), followIntervalMs: 20, textTraining: false, thumbnailCache: false, vlm });
    hosts.push(host);
    return host;
  }

  it('is off, saying what to set, when no server is configured', async () => {
    const saved = process.env.QUICKSORT_VLM_URL;
    delete process.env.QUICKSORT_VLM_URL;
    try {
      const host = hostWith(undefined);
      const ann = new Client(host, 'ann');
      const welcome = (await ann.send({ type: 'hello' })) as Message<'welcome'>;
      expect(welcome.vlm).toMatchObject({ status: 'off', reason: expect.stringMatching(/QUICKSORT_VLM_URL/) });
    } finally {
      if (saved !== undefined) process.env.QUICKSORT_VLM_URL = saved;
    }
  });

  it('asks about the hard cases by itself, stores right suggestions and caption drafts, and shows them with their examples', async () => {
    const requestsBefore = fake.requests.length;
    const host = hostWith({ client: createVlmClient({ url: fake.url, model: 'fake-vlm', retries: 0 }), batch: 4, everyLabels: 3 });
    const ann = new Client(host, 'ann');
    const welcome = (await ann.send({ type: 'hello' })) as Message<'welcome'>;
    expect(welcome.vlm).toMatchObject({ model: 'fake-vlm' });
    const done = (await ann.next(vlmIdle, true)) as Message<'vlm'>;
    expect(done.state).toMatchObject({ status: 'idle', asked: 4, failed: 0 });
    expect(fake.requests.length).toBeGreaterThan(requestsBefore);

    const suggested = ds.items().filter((item) => item.labelSource === 'vlm');
    expect(suggested).toHaveLength(4);
    // Retrieved demonstrations: the fake can only be right from the right examples.
    expect(suggested.filter((item) => item.label === data.truth.get(item.id)).length).toBeGreaterThanOrEqual(3);
    for (const item of suggested) {
      expect(data.unlabelled).toContain(item.id);
      expect(item.labeledBy).toBe('fake-vlm');
      // The four had no caption: each got a VLM draft, authored by the model.
      expect(item.captions).toEqual([expect.objectContaining({ source: 'vlm', author: 'fake-vlm' })]);
    }
    // The pages hear of them (the follower meets the loop's writes) with the examples each stands on.
    const heard = (await ann.next((m) => m.type === 'items' && m.items.some((view) => view.labelSource === 'vlm' && (view.vlmExamples?.length ?? 0) > 0), true)) as Message<'items'>;
    const view = heard.items.find((v) => v.labelSource === 'vlm' && v.vlmExamples)!;
    expect(view.suggestion).toMatchObject({ label: view.label });
    expect(view.vlmExamples!.length).toBe(8);
    for (const example of view.vlmExamples!) {
      expect(data.labelled).toContain(example.id);
      expect(example.label).toBe(data.truth.get(example.id));
    }
  });

  it('accepts a suggestion as the person’s label, turns one down for good, and removes a caption draft', async () => {
    const host = hosts.at(-1)!;
    const ann = new Client(host, 'ann');
    await ann.send({ type: 'hello' });
    const [first, second] = ds.items().filter((item) => item.labelSource === 'vlm');
    // Enter on what the app shows: the VLM's class, recorded as the person's.
    expect(await ann.send({ type: 'accept', itemId: first!.id, label: first!.label })).toMatchObject({ type: 'ack' });
    expect(ds.item(first!.id)).toMatchObject({ label: first!.label, labelSource: 'human', labeledBy: 'ann' });
    // Shift+X: the item is unlabeled again, its head suggestion back, and it is not asked about again.
    const rejected = (await ann.send({ type: 'reject_vlm', itemId: second!.id })) as Message<'ack'>;
    expect(rejected.items![0]).toMatchObject({ id: second!.id, label: null, labelSource: null });
    expect(rejected.items![0]!.vlmExamples).toBeUndefined();
    const draft = ds.item(second!.id).captions[0]!.text;
    expect(await ann.send({ type: 'reject_vlm', itemId: second!.id, caption: draft })).toMatchObject({ type: 'ack' });
    expect(ds.item(second!.id).captions).toEqual([]);
    // Nothing to turn down: refused, naming why.
    expect(await ann.send({ type: 'reject_vlm', itemId: first!.id })).toMatchObject({ type: 'refused', code: 'invalid_argument', reason: expect.stringMatching(/has no VLM label to turn down \(its label is "\w+", from human\)/) });
    expect(await ann.send({ type: 'reject_vlm', itemId: second!.id, caption: 'no such draft' })).toMatchObject({ type: 'refused', reason: expect.stringMatching(/no VLM caption draft/) });
    // The next round (after three more labels) asks about other items, never the rejected one.
    const next = ann.next(vlmIdle);
    for (const id of data.unlabelled.filter((id) => ds.item(id).label === null && id !== second!.id).slice(0, 3)) {
      await ann.send({ type: 'label', itemId: id, label: data.truth.get(id)! });
    }
    await next;
    await host.vlm.settled();
    expect(ds.item(second!.id)).toMatchObject({ label: null, labelSource: null });
    // Undo brings the rejected suggestion back, like any other action.
    for (let i = 0; i < 3; i++) await ann.send({ type: 'undo' });
    await ann.send({ type: 'undo' });
    expect(ds.item(second!.id).captions.map((c) => c.source)).toEqual(['vlm']);
  });

  it("starts a round after the reply to the label that called for it, and settled() waits for that round", async () => {
    const host = hostWith({ client: createVlmClient({ url: fake.url, model: 'fake-vlm', retries: 0 }), batch: 2, everyLabels: 2, captions: false });
    const ann = new Client(host, 'ann');
    await ann.send({ type: 'hello' });
    const first = (await ann.next(vlmIdle, true)) as Message<'vlm'>;
    await host.vlm.settled();
    const asked = (first.state as { asked: number }).asked;
    const open = data.unlabelled.filter((id) => ds.item(id).label === null).slice(0, 2);
    await ann.send({ type: 'label', itemId: open[0]!, label: data.truth.get(open[0]!)! });
    const sinceSecond = ann.inbox.length;
    await ann.send({ type: 'label', itemId: open[1]!, label: data.truth.get(open[1]!)! });
    // The label's reply and queue came first: the round it called for had not started by then.
    expect(ann.inbox.slice(sinceSecond).some((m) => m.type === 'vlm')).toBe(false);
    await host.vlm.settled();
    expect(host.vlm.state).toMatchObject({ status: 'idle', asked: asked + 2 });
  });
  it('verifies the largest predicted group by itself: the items the VLM finds not to be the class are tagged, and the pages are told', async () => {
    const other = await colourDataset();
    const second = await Dataset.open(other.dir, { user: 'ann' });
    let host: SessionHost | undefined;
    try {
      // Cyan's labels taken back: its swatches fall into a neighbouring class's predicted group.
      for (const id of other.labelled.filter((id) => other.truth.get(id) === 'cyan')) second.act(id, { kind: 'unlabel' });
      host = new SessionHost(second, { embeddings: loadEmbeddings(second.root, { store: second.store }), followIntervalMs: 20, textTraining: false, thumbnailCache: false, vlm: { client: createVlmClient({ url: fake.url, model: 'fake-vlm', retries: 0 }), batch: 2, captions: false, verifyEvery: 1 } });
      const ann = new Client(host, 'ann');
      await ann.send({ type: 'hello' });
      const done = (await ann.next((m) => m.type === 'vlm' && m.state.status === 'idle' && (m.state.verified?.length ?? 0) > 0, true)) as Message<'vlm'>;
      const check = (done.state as Extract<Message<'vlm'>['state'], { status: 'idle' | 'asking' }>).verified![0]!;
      expect(check.tag).toBe(`vlm:not-${check.label}`);
      const tagged = second.items().filter((item) => item.tags.includes(check.tag));
      expect(tagged.length).toBe(check.outliers);
      expect(check.outliers).toBeGreaterThan(0);
      // Right only from the right examples: every item tagged is truly of another colour, none labelled.
      for (const item of tagged) {
        expect(other.truth.get(item.id)).not.toBe(check.label);
        expect(item.labelSource).not.toBe('human');
      }
    } finally {
      await host?.close();
      second.close();
      other.cleanup();
    }
  });
});
