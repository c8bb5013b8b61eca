import { execFile } from 'node:child_process';
import path from 'node:path';
import { Dataset } from '../../src/dataset';
import { InvalidArgumentError } from '../../src/errors';
import { createVlmClient, defaultPerRequest, openBank, outlierTag, parseVerifyAnswer, promptImage, verifyPlan, type VlmClient, type VlmConfig } from '../../src/vlm';
import { REPO } from '../helpers/fixtures';
import { colourDataset, type ColourDataset } from './colour-dataset';
import { startFakeVlm, type FakeVlm } from './fake-vlm-server';

/**
 * Cluster verification against the loopback fake (a group image is an outlier when its thumbnail is far from
 * the mean of the examples sent, so the answer is right only when examples of the right class were sent), or
 * against a real server when QUICKSORT_VLM_URL is set (QUICKSORT_VLM_MODEL names its model): then the tests
 * that inject failures or count the fake's requests are skipped.
 *
 * The group: cyan's labels are taken back, so the head puts the cyan swatches in the class nearest them; that
 * class's predicted group is its own unlabelled swatches with cyan ones mixed in.
 */
const REAL_URL = process.env.QUICKSORT_VLM_URL;
const fakeOnly = REAL_URL ? it.skip : it;
const MODEL = REAL_URL ? (process.env.QUICKSORT_VLM_MODEL ?? 'default') : 'fake-vlm';
const BIN = path.join(REPO, 'bin', 'quicksort.js');

jest.setTimeout(REAL_URL ? 600_000 : 120_000);

function quicksort(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, QUICKSORT_VLM_URL: '', QUICKSORT_VLM_MODEL: '' } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('VLM cluster verification', () => {
  let data: ColourDataset;
  let fake: FakeVlm | undefined;
  let url: string;
  /** The class the cyan swatches are predicted as, and its predicted group. */
  let label: string;
  let group: number[];

  beforeAll(async () => {
    data = await colourDataset();
    if (!REAL_URL) fake = await startFakeVlm();
    url = REAL_URL ?? fake!.url;
    await withDataset(async (ds) => {
      for (const id of data.labelled.filter((id) => data.truth.get(id) === 'cyan')) ds.unlabel(id);
      const bank = openBank(ds);
      const cyan = data.unlabelled.find((id) => data.truth.get(id) === 'cyan')!;
      label = bank.candidateClasses(cyan, 1)[0]!;
      group = bank.predictedAs(label);
    });
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

  const verdictOf = (id: number) => (data.truth.get(id) === label ? 'belongs' : 'outlier');

  it('finds the wrong-colour items of a predicted group as outliers and the others as belonging; tags the outliers, labels nothing', async () => {
    expect(group.some((id) => data.truth.get(id) === 'cyan')).toBe(true);
    expect(group.some((id) => data.truth.get(id) === label)).toBe(true);
    await withDataset(async (ds) => {
      const versions = new Map(group.map((id) => [id, ds.item(id).version]));
      const asked = fake?.requests.length ?? 0;
      const report = await ds.vlm.verify({ client: client(), label, cache: false });
      expect(report).toMatchObject({ label, group: group.length, sampled: [...group].sort((a, b) => a - b), tag: outlierTag(label) });
      if (fake) expect(fake.requests.length - asked).toBe(1); // the whole sample in one request
      for (const item of report.items) {
        expect(item).toMatchObject({ status: 'ok', verdict: verdictOf(item.id) });
        // The examples are the class's own labelled items (three of them: k is more than the class has).
        expect(item.examples).toHaveLength(3);
        for (const shown of item.examples) expect(ds.item(shown)).toMatchObject({ label, labelSource: 'human' });
      }
      expect(report.outliers.length).toBeGreaterThan(0);
      expect(report.purity).toBeCloseTo(report.belongs.length / report.sampled.length);
      for (const id of report.outliers) {
        expect(ds.item(id)).toMatchObject({ label: null, tags: [outlierTag(label)] });
        expect(ds.events({ itemId: id }).at(-1)).toMatchObject({ kind: 'tags', source: 'vlm', user: MODEL });
      }
      for (const id of report.belongs) expect(ds.item(id).version).toBe(versions.get(id));
      expect(report.stored).toBe(report.outliers.length);
      expect(report.cost.images).toBe(3 + group.length);
      // One undo by the model's name takes the run's tags back together.
      expect(ds.store.undo(MODEL)).toHaveLength(report.outliers.length);
      for (const id of report.outliers) expect(ds.item(id).tags).toEqual([]);
    });
  });

  fakeOnly('draws a seeded sample; a rerun is answered from the cache and tags nothing twice; the cost is counted', async () => {
    await withDataset(async (ds) => {
      const first = await ds.vlm.verify({ client: client(), label, sample: 4, seed: 7 });
      expect(first.sampled).toHaveLength(4);
      for (const id of first.sampled) expect(group).toContain(id);
      expect(first.cost).toMatchObject({ requests: 1, cacheHits: 0, images: 3 + 4 });
      expect(first.cost.promptTokens).toBeGreaterThan(0);
      const asked = fake!.requests.length;
      const second = await ds.vlm.verify({ client: client(), label, sample: 4, seed: 7 });
      expect(fake!.requests.length).toBe(asked);
      expect(second.sampled).toEqual(first.sampled);
      expect(second.cost).toMatchObject({ requests: 0, cacheHits: 1 });
      expect(second.items.map((item) => [item.verdict, item.cached, item.stored])).toEqual(first.items.map((item) => [item.verdict, true, false]));
      for (const item of second.items.filter((i) => i.verdict === 'outlier')) expect(item.reason).toBe('tagged already');
      if (first.stored > 0) ds.store.undo(MODEL);
    });
  });

  fakeOnly('a malformed answer or a number out of range fails the items of its request and marks nothing; the other requests go on', async () => {
    await withDataset(async (ds) => {
      const versions = group.map((id) => ds.item(id).version);
      fake!.malformed(1);
      const malformed = await ds.vlm.verify({ client: client(), label, cache: false });
      expect(malformed.items.every((item) => item.status === 'failed' && item.failure === 'bad_answer' && item.verdict === undefined)).toBe(true);
      expect(malformed).toMatchObject({ outliers: [], belongs: [], purity: null, stored: 0 });
      // Split in requests of at most 3 (the schema of each numbers its own images 1..n); the first names n + 1.
      fake!.answerOutOfRange(1);
      const asked = fake!.requests.length;
      const split = await ds.vlm.verify({ client: client({ concurrency: 1 }), label, perRequest: 3, cache: false, tag: false });
      const requests = Math.ceil(group.length / 3);
      expect(fake!.requests.length - asked).toBe(requests);
      // Which request got the fault depends on whose images were ready first: one of them, and only its items.
      const bad = split.items.filter((item) => item.status === 'failed');
      expect(bad.length).toBeGreaterThan(0);
      expect(bad.length).toBeLessThanOrEqual(3);
      for (const item of bad) expect(item).toMatchObject({ failure: 'bad_answer', reason: expect.stringMatching(/not an image number 1\.\.\d/) });
      expect(split.counts.ok).toBe(group.length - bad.length);
      for (const item of split.items.filter((i) => i.status === 'ok')) expect(item.verdict).toBe(verdictOf(item.id));
      expect(group.map((id) => ds.item(id).version)).toEqual(versions);
    });
  });

  fakeOnly("speaks both dialects in both layouts: the group's images numbered in the prompt, the same verdicts", async () => {
    await withDataset(async (ds) => {
      for (const settings of [{ layout: 'interleaved' as const }, { url: fake!.ollamaUrl, dialect: 'ollama' as const, layout: 'interleaved' as const }, { url: fake!.ollamaUrl, dialect: 'ollama' as const }]) {
        const report = await ds.vlm.verify({ client: client(settings), label, cache: false, tag: false });
        expect(report.items.map((item) => item.verdict)).toEqual(report.sampled.map(verdictOf));
        expect(fake!.requests.at(-1)).toMatchObject({ dialect: settings.dialect ?? 'openai', outcome: 'answered' });
      }
      await ds.vlm.verify({ client: client({ layout: 'interleaved' }), label, cache: false, tag: false, sample: 2 });
      const parts = (fake!.requests.at(-1)!.body as { messages: { content: { type: string; text?: string }[] }[] }).messages.at(-1)!.content;
      expect(parts.slice(-4).map((p) => p.text ?? p.type)).toEqual(['Image 1:', 'image_url', 'Image 2:', 'image_url']);
    });
  });

  fakeOnly('never tags an item a person labelled while the model was asked', async () => {
    await withDataset(async (ds) => {
      const cyan = group.find((id) => data.truth.get(id) === 'cyan')!;
      fake!.hold();
      const running = ds.vlm.verify({ client: client(), label, cache: false });
      await fake!.whenHeld(1);
      ds.label(cyan, 'cyan');
      try {
        fake!.release();
        const report = await running;
        expect(report.items.find((item) => item.id === cyan)).toMatchObject({ verdict: 'outlier', stored: false, reason: 'labelled by a person meanwhile' });
        expect(ds.item(cyan)).toMatchObject({ label: 'cyan', labelSource: 'human', tags: [] });
        expect(report.stored).toBe(report.outliers.length - 1);
        ds.store.undo(MODEL);
      } finally {
        ds.unlabel(cyan);
      }
    });
  });

  fakeOnly("the fake model is right only with the right examples: against another class's examples the whole group is outliers", async () => {
    const other = Object.keys({ red: 1, green: 1, blue: 1, yellow: 1 }).find((name) => name !== label)!;
    await withDataset(async (ds) => {
      const image = (id: number) => promptImage(path.join(data.dir, ds.item(id).uri), 448);
      const examples = await Promise.all(data.labelled.filter((id) => data.truth.get(id) === other).map(image));
      const answer = await client().complete({
        examples: examples.map((e) => ({ image: e, answer: other })),
        question: 'Which are not?',
        images: await Promise.all(group.map(image)),
        schema: { name: 'cluster_outliers', schema: { type: 'object', properties: { outliers: { type: 'array', items: { type: 'integer', minimum: 1, maximum: group.length } } }, required: ['outliers'] } },
      });
      expect(answer.json).toEqual({ outliers: group.map((_, i) => i + 1) });
    });
  });

  it('says what is wrong with the request: a class that does not exist, one without labelled examples, a sample of 0', async () => {
    await withDataset(async (ds) => {
      await expect(ds.vlm.verify({ client: client(), label: 'zebra' })).rejects.toThrow(/no class "zebra"/);
      await expect(ds.vlm.verify({ client: client(), label: 'cyan' })).rejects.toThrow(/no embedded item is labelled "cyan" by a person/);
      await expect(ds.vlm.verify({ client: client(), label, sample: 0 })).rejects.toThrow(InvalidArgumentError);
    });
  });

  fakeOnly('quicksort vlm verify --json prints the report; in words it says what was found', async () => {
    const run = await quicksort(['vlm', 'verify', '--dataset', data.dir, '--class', label, '--url', fake!.url, '--model', MODEL, '--no-cache', '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ model: MODEL, label, group: group.length, tag: outlierTag(label), cost: { requests: 1 } });
    for (const item of report.items) expect(item.verdict).toBe(verdictOf(item.id));
    expect(report.stored).toBe(report.outliers.length);
    const words = await quicksort(['vlm', 'verify', '--dataset', data.dir, '--class', label, '--url', fake!.url, '--model', MODEL, '--sample', '3', '--k', '2', '--no-tag']);
    expect(words.code).toBe(0);
    expect(words.stdout).toMatch(new RegExp(`Verified 3 of the ${group.length} items predicted as "${label}" with fake-vlm: \\d+ belong, \\d+ not "${label}" \\(0 tagged`));
    // The tags are undone by the model's name, all of the run at once.
    const undone = await quicksort(['undo', '--dataset', data.dir, '--user', MODEL, '--json']);
    expect(undone.code).toBe(0);
    expect(JSON.parse(undone.stdout).undone.map((event: { itemId: number }) => event.itemId).sort()).toEqual([...report.outliers].sort());
  });
});

describe('the cluster verification prompt', () => {
  it('numbers the group 1..n in its schema and question, and shows each example with the class as its answer', () => {
    const plan = verifyPlan('cat', ['a', 'b'], ['x', 'y', 'z']);
    expect(plan).toMatchObject({ kind: 'verify', images: ['x', 'y', 'z'], examples: [{ image: 'a', answer: 'cat' }, { image: 'b', answer: 'cat' }] });
    expect(plan.question).toMatch(/Which of the following 3 images are NOT "cat"\? They are numbered 1 to 3/);
    expect(plan.schema.schema).toMatchObject({ properties: { outliers: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 3 } } }, required: ['outliers'] });
  });

  it('reads an answer strictly: whole numbers 1..n, or a bad answer that marks nothing', () => {
    const read = (text: string) => parseVerifyAnswer({ text }, 3);
    expect(read('{"outliers":[3,1,3]}')).toEqual({ kind: 'outliers', numbers: [1, 3] });
    expect(read('{"outliers":[]}')).toEqual({ kind: 'outliers', numbers: [] });
    for (const text of ['{"outliers":[4]}', '{"outliers":[0]}', '{"outliers":[1.5]}', '{"outliers":["2"]}', '{"outliers":2}', '{}', '[1]', 'images 1 and 2']) {
      expect(read(text)).toMatchObject({ kind: 'bad_answer' });
    }
    expect(read('{"outliers":[4]}')).toMatchObject({ reason: expect.stringContaining('names 4, not an image number 1..3') });
  });

  it('sends 12 group images a request at 448 px, more when they are smaller, never more than 24', () => {
    expect(defaultPerRequest({ maxImageSide: 448 })).toBe(12);
    expect(defaultPerRequest({ maxImageSide: 896 })).toBe(3);
    expect(defaultPerRequest({ maxImageSide: 224 })).toBe(24);
  });
});
