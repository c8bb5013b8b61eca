import { existsSync } from 'node:fs';
import path from 'node:path';
import { Dataset } from '../../src/dataset';
import { createVlmClient, suggestWithVlm, VlmCache, vlmCachePath, type VlmClient, type VlmConfig } from '../../src/vlm';
import { colourDataset, type ColourDataset } from './colour-dataset';
import { startFakeVlm, type FakeVlm } from './fake-vlm-server';

/**
 * The VLM assist against the loopback fake (it answers with the label of the demonstration most like the
 * query image, so an answer is right only when the right examples were retrieved and sent), or against a
 * real server when QUICKSORT_VLM_URL is set (QUICKSORT_VLM_MODEL names its model): then the tests that inject
 * failures or count the fake's requests are skipped.
 */
const REAL_URL = process.env.QUICKSORT_VLM_URL;
const fakeOnly = REAL_URL ? it.skip : it;
const MODEL = REAL_URL ? (process.env.QUICKSORT_VLM_MODEL ?? 'default') : 'fake-vlm';

jest.setTimeout(REAL_URL ? 600_000 : 120_000);

describe('VLM suggestions and caption drafts', () => {
  let data: ColourDataset;
  let fake: FakeVlm | undefined;
  let url: string;

  beforeAll(async () => {
    data = await colourDataset();
    if (!REAL_URL) fake = await startFakeVlm();
    url = REAL_URL ?? fake!.url;
  });
  afterAll(async () => {
    await fake?.close();
    data.cleanup();
  });

  const clients: VlmClient[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  function client(settings: Partial<VlmConfig> = {}): VlmClient {
    const made = createVlmClient({ url, model: MODEL, apiKey: process.env.QUICKSORT_VLM_API_KEY, retries: 0, ...settings });
    clients.push(made);
    return made;
  }

  async function withDataset<T>(work: (ds: Dataset) => Promise<T>): Promise<T> {
    const ds = await Dataset.open(data.dir, { user: 'ann' });
    try {
      return await work(ds);
    } finally {
      ds.close();
    }
  }

  const accuracy = (items: { id: number; label?: string }[]) => items.filter((item) => item.label === data.truth.get(item.id)).length / items.length;

  it('is right when the nearest labelled examples are sent, not with random ones; stores vlm labels with their confidence', async () => {
    await withDataset(async (ds) => {
      const ids = data.unlabelled;
      // Two demonstrations of eight classes: random ones seldom hold the right class, retrieved ones do.
      const random = await ds.vlm.suggest({ client: client(), items: ids, k: 2, demonstrations: 'random', cache: false, seed: 3 });
      const retrieved = await ds.vlm.suggest({ client: client(), items: ids, k: 2, cache: false });
      expect(retrieved.counts.ok).toBe(ids.length);
      expect(accuracy(retrieved.items)).toBeGreaterThanOrEqual(0.9);
      if (!REAL_URL) expect(accuracy(random.items)).toBeLessThan(accuracy(retrieved.items) - 0.3);
      // The kNN vote of the same retrieved items is reported beside each answer.
      expect(retrieved.items.every((item) => item.vote !== null && item.examples.length === 2)).toBe(true);
      const first = retrieved.items[0]!;
      for (const shown of first.examples) expect(data.labelled).toContain(shown);
      const item = ds.item(first.id);
      expect(item).toMatchObject({ label: first.label, labelSource: 'vlm', labeledBy: MODEL });
      const event = ds.events({ itemId: first.id }).at(-1)!;
      expect(event).toMatchObject({ kind: 'label', source: 'vlm', payload: { label: first.label } });
      if (!REAL_URL) expect(event.confidence).toBeGreaterThan(0.5);
    });
  });

  fakeOnly("speaks Ollama's native API with one message per demonstration just as well", async () => {
    await withDataset(async (ds) => {
      const ids = data.unlabelled.slice(20, 24);
      const report = await ds.vlm.suggest({ client: client({ url: fake!.ollamaUrl, dialect: 'ollama', layout: 'per-message' }), items: ids, k: 3, cache: false });
      expect(accuracy(report.items)).toBe(1);
      expect(fake!.requests.at(-1)).toMatchObject({ dialect: 'ollama', outcome: 'answered' });
    });
  });

  it('never writes over a person: a labelled item is skipped, one labelled while the model is asked is left alone', async () => {
    await withDataset(async (ds) => {
      const [labelledBefore, labelledDuring] = [data.unlabelled[1]!, data.unlabelled[2]!];
      ds.label(labelledBefore, 'grey');
      const eventsBefore = ds.events({ itemId: labelledBefore }).length;
      fake?.hold();
      const running = ds.vlm.suggest({ client: client(), items: [labelledBefore, labelledDuring], cache: false });
      if (fake) {
        await fake.whenInFlight(1);
        ds.label(labelledDuring, 'grey');
        fake.release();
      }
      const report = await running;
      expect(report.items[0]).toMatchObject({ id: labelledBefore, status: 'skipped', stored: false, reason: 'labelled by a person' });
      expect(ds.events({ itemId: labelledBefore })).toHaveLength(eventsBefore);
      if (fake) {
        expect(report.items[1]).toMatchObject({ id: labelledDuring, status: 'ok', stored: false, reason: 'labelled by a person meanwhile' });
        expect(ds.item(labelledDuring)).toMatchObject({ label: 'grey', labelSource: 'human' });
        expect(ds.events({ itemId: labelledDuring }).some((e) => e.source === 'vlm' && e.seq > ds.events({ itemId: labelledDuring }).find((h) => h.source === 'human')!.seq)).toBe(false);
      }
      for (const id of [labelledBefore, labelledDuring]) ds.unlabel(id);
    });
  });

  fakeOnly('asks nothing twice: a rerun is answered from the cache beside the store, and the cost is counted', async () => {
    await withDataset(async (ds) => {
      const ids = data.unlabelled.slice(3, 7);
      const statsBefore = ds.vlmStats();
      const asked = fake!.requests.length;
      const first = await ds.vlm.suggest({ client: client(), items: ids, k: 3 });
      expect(fake!.requests.length - asked).toBe(ids.length);
      expect(first.cost).toMatchObject({ requests: ids.length, cacheHits: 0, images: ids.length * 4 });
      expect(first.cost.promptTokens).toBeGreaterThan(0);
      const second = await ds.vlm.suggest({ client: client(), items: ids, k: 3 });
      expect(fake!.requests.length - asked).toBe(ids.length);
      expect(second.items.map((item) => [item.cached, item.label, item.stored])).toEqual(first.items.map((item) => [true, item.label, false]));
      expect(second.cost).toMatchObject({ requests: 0, cacheHits: ids.length });
      expect(existsSync(path.join(data.dir, '.quicksort', 'vlm-cache.db'))).toBe(true);
      const stats = ds.vlmStats();
      expect(stats.requests - statsBefore.requests).toBe(ids.length);
      expect(stats.cacheHits - statsBefore.cacheHits).toBe(ids.length);
      expect(stats.models[MODEL]!.images).toBeGreaterThanOrEqual(ids.length * 4);
    });
  });

  fakeOnly('gives each item its status — 429, timeout, dropped connection, malformed answer, unknown class — and the rest goes on', async () => {
    await withDataset(async (ds) => {
      const ids = data.unlabelled.slice(8, 14);
      const before = ids.map((id) => ds.item(id).version);
      fake!.failNext(1, { status: 429, retryAfterMs: 1 });
      fake!.hang(1);
      fake!.dropConnection(1);
      fake!.malformed(1);
      fake!.answerUnknownClass(1);
      const report = await ds.vlm.suggest({ client: client({ concurrency: 1, timeoutMs: 300 }), items: ids, cache: false });
      expect(report.items.map((item) => [item.status, item.failure])).toEqual([
        ['failed', 'rate_limited'],
        ['failed', 'timeout'],
        ['failed', 'connection'],
        ['failed', 'bad_answer'],
        ['unknown_class', undefined],
        ['ok', undefined],
      ]);
      expect(report.items[4]!.unknownClass).toBeTruthy();
      expect(report.items[5]!.label).toBe(data.truth.get(ids[5]!));
      // Nothing is written for an item whose request failed or named an unknown class.
      expect(ids.slice(0, 5).map((id) => ds.item(id).version)).toEqual(before.slice(0, 5));
      expect(report.cost.failures).toBe(4);
    });
  });

  fakeOnly('retries a 429 or a 5xx with backoff and then answers', async () => {
    await withDataset(async (ds) => {
      fake!.failNext(1, { status: 429, retryAfterMs: 1 });
      fake!.failNext(1, { status: 503, retryAfterMs: 1 });
      const report = await ds.vlm.suggest({ client: client({ retries: 2 }), items: [data.unlabelled[15]!], cache: false });
      expect(report.items[0]).toMatchObject({ status: 'ok', label: data.truth.get(data.unlabelled[15]!) });
    });
  });

  it("asks about the head's hard cases: unlabelled items by the smallest margin", async () => {
    await withDataset(async (ds) => {
      const report = await ds.vlm.suggest({ client: client(), items: 'hard', limit: 3, cache: false });
      expect(report.items).toHaveLength(3);
      for (const item of report.items) expect(data.unlabelled).toContain(item.id);
    });
  });

  it("uses a cache it is given (a queue's, kept open between runs) and leaves it open: the next run is answered from it", async () => {
    await withDataset(async (ds) => {
      const cache = VlmCache.open(vlmCachePath(ds.store.file));
      try {
        const items = data.unlabelled.slice(20, 22);
        const asked = await suggestWithVlm(ds, { client: client(), items, k: 2, cache: false, vlmCache: cache });
        expect(asked.items.map((item) => item.cached)).toEqual([false, false]);
        // Still open: the answers were kept in it, and the run's cost added to the dataset's.
        expect(cache.enabled).toBe(true);
        const before = cache.stats();
        expect(before.requests).toBeGreaterThanOrEqual(2);
        const again = await suggestWithVlm(ds, { client: client(), items, k: 2, vlmCache: cache });
        expect(again.items.map((item) => item.cached)).toEqual([true, true]);
        expect(again.items.map((item) => item.label)).toEqual(asked.items.map((item) => item.label));
        expect(cache.stats()).toMatchObject({ requests: before.requests, cacheHits: before.cacheHits + 2 });
      } finally {
        cache.close();
      }
    });
  });

  it('drafts captions in the style of the nearest captioned items, stored as vlm captions by the model', async () => {
    await withDataset(async (ds) => {
      const ids = data.unlabelled.slice(16, 20);
      const report = await ds.vlm.caption({ client: client(), items: ids, k: 3 });
      expect(report.counts.ok).toBe(ids.length);
      for (const item of report.items) {
        if (!REAL_URL) expect(item.caption).toBe(`a ${data.truth.get(item.id)} square`);
        expect(item.stored).toBe(true);
        expect(ds.item(item.id).captions).toEqual([expect.objectContaining({ text: item.caption, source: 'vlm', author: MODEL })]);
      }
      // Items a person captioned are not drafted for.
      const again = await ds.vlm.caption({ client: client(), items: [data.labelled[0]!] });
      expect(again.items[0]).toMatchObject({ status: 'skipped', reason: 'has a caption by a person' });
    });
  });
});
