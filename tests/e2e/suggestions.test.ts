import { readFileSync, writeFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { Dataset } from '../../src/dataset';
import { startServer, type RunningServer } from '../../src/server';
import { SAMPLE_ANNOTATIONS, sampleCopy } from '../helpers/fixtures';
import { ensureAppBuilt } from '../server/server-helpers';
import { artifact, closeBrowser, eventually, launchBrowser, openApp, openGridPage, readStore, requireChromium, SELECTORS, waitForCurrent, waitForSaved, watchConsole } from './e2e-helpers';

/**
 * The model's suggestions in the standalone app, in Chromium: the sample embedded with the bundled
 * MobileNetV2 (`ds.embed()`, ONNX on the CPU), a few items labeled through the API, then the keyboard only.
 * Focus shows the head's suggestion with its confidence and alternatives and the nearest labeled examples;
 * Enter accepts what is shown and the store records it as the person's label; the grid shows a page the
 * model believes is one class, one odd one out is fixed with a class key and Enter accepts the rest.
 */

requireChromium();

const CLASSES = ['people', 'food', 'things'];
const KEY = new Map(CLASSES.map((name, i) => [name, String(i + 1)]));
/** Items labeled through the API before the server starts, per class. */
const SEED_PER_CLASS = 4;

/** Each sample image's class: the COCO supercategory covering the most area, folded into three classes. */
function truthByFile(): Map<string, string> {
  const coco = JSON.parse(readFileSync(SAMPLE_ANNOTATIONS, 'utf8')) as {
    images: { id: number; file_name: string }[];
    categories: { id: number; supercategory: string }[];
    annotations: { image_id: number; category_id: number; area: number }[];
  };
  const supercategory = new Map(coco.categories.map((c) => [c.id, c.supercategory]));
  const areas = new Map<number, Map<string, number>>();
  for (const a of coco.annotations) {
    const byImage = areas.get(a.image_id) ?? new Map<string, number>();
    const name = supercategory.get(a.category_id)!;
    byImage.set(name, (byImage.get(name) ?? 0) + a.area);
    areas.set(a.image_id, byImage);
  }
  const fold = (name: string) => (['person', 'sports', 'accessory'].includes(name) ? 'people' : ['food', 'kitchen'].includes(name) ? 'food' : 'things');
  return new Map(coco.images.map((image) => [image.file_name, fold([...(areas.get(image.id) ?? [])].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'other')]));
}

interface ShownSuggestion {
  item: number;
  label: string;
  confidence: string;
  meter: string | null;
  alternatives: { key: string; label: string; confidence: string }[];
  highlighted: string[];
}

/** What the focus view shows about the model's suggestion, once it shows one. */
async function shownSuggestion(page: Page): Promise<ShownSuggestion> {
  await page.locator('.qs-suggestion .qs-suggested-label').waitFor({ timeout: 30000 });
  return page.evaluate(() => {
    const text = (element: Element | null | undefined) => element?.textContent ?? '';
    const section = document.querySelector('.qs-suggestion')!;
    return {
      item: Number(document.querySelector('.qs-stage')!.getAttribute('data-item-id')),
      label: text(section.querySelector('.qs-suggested-label')),
      confidence: text(section.querySelector('.qs-confidence')),
      meter: section.querySelector('[role="meter"]')?.getAttribute('aria-valuenow') ?? null,
      alternatives: [...section.querySelectorAll('.qs-alternatives li')].map((li) => ({ key: text(li.querySelector('kbd')), label: text(li.querySelector('span')), confidence: text(li.querySelector('.qs-muted')) })),
      highlighted: [...document.querySelectorAll('.qs-class-key.is-suggested span:not(.qs-count)')].map((span) => span.textContent ?? ''),
    };
  });
}

/** The sentence the app last announced to screen readers (what an action did, as the person saw it). */
const announcement = (page: Page) => page.locator('.qs-app > [aria-live="polite"]').innerText();

describe('suggestions in the standalone app (embedded sample, keys only)', () => {
  jest.setTimeout(240000);
  let data: ReturnType<typeof sampleCopy>;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let consoleLines: string[] = [];
  /** Labels through the API before the app opened: item → class. */
  const seeded = new Map<number, string>();
  /** Labels given in the app: item → class. */
  const labeled = new Map<number, string>();
  let uris = new Map<number, string>();

  beforeAll(async () => {
    await ensureAppBuilt();
    data = sampleCopy();
    const truth = truthByFile();
    const ds = await Dataset.open(data.dir, { user: 'seeder' });
    try {
      await ds.ingest();
      // The bundled MobileNetV2 in onnxruntime's worker threads (dist/: `npm run build` first).
      const report = await ds.embed();
      expect(report).toMatchObject({ total: 36, failed: 0 });
      for (const name of CLASSES) ds.addClass(name);
      const perClass = new Map<string, number>();
      for (const item of ds.items()) {
        const label = truth.get(item.uri)!;
        if ((perClass.get(label) ?? 0) >= SEED_PER_CLASS) continue;
        perClass.set(label, (perClass.get(label) ?? 0) + 1);
        ds.label(item.id, label);
        seeded.set(item.id, label);
      }
      // Every class has examples: the head can tell them apart from the start.
      expect([...perClass.keys()].sort()).toEqual([...CLASSES].sort());
      uris = new Map(ds.items().map((item) => [item.id, item.uri]));
    } finally {
      ds.close();
    }
    server = await startServer({ dataset: data.dir, port: 0, user: 'tester' });
    expect(server.hasEmbeddings).toBe(true);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    consoleLines = watchConsole(page);
  });

  afterAll(async () => {
    writeFileSync(artifact('e2e-suggestions-console.txt'), consoleLines.join('\n'));
    await closeBrowser(browser);
    await server?.close();
    data?.cleanup();
  });

  it('shows the head’s suggestion with its confidence and alternatives, and the nearest labeled examples', async () => {
    await openApp(page, server.url);
    // Embeddings: the header offers the rankers instead of saying items come as stored.
    await page.getByLabel('Ranker: which item comes next').waitFor({ timeout: 30000 });
    const current = await waitForCurrent(page, { state: 'ready' });
    const shown = await shownSuggestion(page);
    expect(shown.item).toBe(current);
    expect(seeded.has(current)).toBe(false);

    // The model's own suggestion for this item, as the server's learner holds it.
    const model = server.sessions.suggestionFor(server.dataset.item(current))!;
    expect(model).toBeDefined();
    expect(shown.label).toBe(model.label);
    expect(shown.confidence).toBe(`${Math.round(model.confidence * 100)}%`);
    expect(shown.meter).toBe(String(Math.round(model.confidence * 100)));
    // Three classes: the two others are the alternatives, each with its key and probability.
    expect(shown.alternatives.map((a) => a.label).sort()).toEqual(CLASSES.filter((name) => name !== shown.label).sort());
    expect(shown.alternatives).toEqual(model.alternatives.map((a) => ({ key: KEY.get(a.label), label: a.label, confidence: `${Math.round(a.confidence * 100)}%` })));
    expect(shown.highlighted).toEqual([shown.label]);

    // The strip: labeled items nearest to this one, each with its label and thumbnail.
    const strip = page.locator('.qs-strip[aria-label="Nearest labeled examples"]');
    await page.waitForFunction(() => {
      const items = document.querySelectorAll('.qs-strip li');
      return items.length > 0 && [...items].every((li) => li.querySelector('img.qs-thumb-image'));
    }, null, { timeout: 30000 });
    const neighbors = await strip.locator('li').evaluateAll((items) => items.map((li) => ({ uri: li.getAttribute('title'), label: li.querySelector('span')?.textContent })));
    const expected = server.sessions.learner!.labeledNeighbors(current, 8);
    expect(neighbors).toEqual(expected.map((id) => ({ uri: uris.get(id), label: seeded.get(id) })));
    expect(neighbors.length).toBe(Math.min(8, seeded.size));
    await page.screenshot({ path: artifact('e2e-suggestion-focus.png') });
  });

  it('Enter accepts the suggestion: the store holds the person’s label, equal to the class shown', async () => {
    const shown = await shownSuggestion(page);
    await page.keyboard.press('Enter');
    labeled.set(shown.item, shown.label);
    await waitForCurrent(page, { not: shown.item });
    expect(await announcement(page)).toBe(`${uris.get(shown.item)!.split('/').pop()} accepted as ${shown.label}`);
    await waitForSaved(page);
    const stored = await eventually(() => readStore(data.dir, (ds) => ds.item(shown.item)), (item) => item.label !== null, 'the accepted label in the store');
    expect(stored).toMatchObject({ label: shown.label, labelSource: 'human', labeledBy: 'tester' });
    // One event: a label from the person, the same as a class key would write.
    const events = await readStore(data.dir, (ds) => ds.events({ itemId: shown.item }));
    expect(events.map((e) => ({ kind: e.kind, label: e.payload.label, source: e.source, user: e.user }))).toEqual([{ kind: 'label', label: shown.label, source: 'human', user: 'tester' }]);
    // It counts as an accepted suggestion in this session's stats.
    await page.keyboard.press('Shift+S');
    await page.locator('.qs-figures div').filter({ hasText: 'Suggestions accepted' }).locator('dd').filter({ hasText: '100%' }).waitFor({ timeout: 30000 });
    await page.keyboard.press('Shift+F');
    await page.locator('.qs-suggestion').waitFor({ timeout: 30000 });
  });

  it('Enter right after a class key accepts the suggestion shown for the next item, as shown', async () => {
    // A label the head did not expect changes it; the next item's suggestion on screen was computed before.
    for (let round = 0; round < 3; round++) {
      const first = await shownSuggestion(page);
      const surprise = first.alternatives[first.alternatives.length - 1]!;
      await page.keyboard.press(surprise.key);
      labeled.set(first.item, surprise.label);
      const next = await waitForCurrent(page, { not: first.item });
      await page.keyboard.press('Enter');
      await waitForCurrent(page, { not: next });
      const said = await announcement(page);
      const accepted = said.match(/ accepted as (.+)$/)?.[1];
      expect(accepted).toBeDefined();
      labeled.set(next, accepted!);
      await waitForSaved(page);
      expect(await readStore(data.dir, (ds) => ds.item(next).label)).toBe(accepted);
    }
  });

  it('shows a grid page of one predicted class; a class key fixes the odd one out and Enter accepts the page', async () => {
    const grid = await openGridPage(page);
    const predicted = ((await grid.getAttribute('aria-label')) ?? '').match(/^Page predicted (.+)$/)?.[1];
    expect(CLASSES).toContain(predicted);
    const pageIds = await page.locator('.qs-cell[data-item-id]').evaluateAll((cells) => cells.map((cell) => Number(cell.getAttribute('data-item-id'))));
    expect(pageIds.length).toBeGreaterThan(1);
    for (const id of pageIds) expect(seeded.has(id) || labeled.has(id)).toBe(false);
    expect(await page.locator('.qs-grid-info').innerText()).toBe(`${pageIds.length} items predicted ${predicted}`);
    expect(await page.locator('.qs-cell .qs-cell-caption').allInnerTexts()).toEqual(pageIds.map(() => predicted));

    // The second item is the odd one out: another class's key marks it.
    const other = CLASSES.find((name) => name !== predicted)!;
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press(KEY.get(other)!);
    await page.waitForFunction((caption) => document.querySelectorAll('.qs-cell .qs-cell-caption')[1]?.textContent === caption, `→ ${other}`);
    expect(await page.locator('.qs-cell.is-corrected').getAttribute('data-item-id')).toBe(String(pageIds[1]));
    expect(await page.locator('.qs-grid-info').innerText()).toBe(`${pageIds.length} items predicted ${predicted} · 1 corrected`);
    await page.waitForFunction(() => document.querySelectorAll('.qs-cell .qs-thumb-image').length === document.querySelectorAll('.qs-cell[data-item-id]').length, null, { timeout: 30000 });
    await page.screenshot({ path: artifact('e2e-suggestion-grid.png') });

    await page.keyboard.press('Enter');
    for (const id of pageIds) labeled.set(id, id === pageIds[1] ? other : predicted!);
    await waitForSaved(page);
    const human = await eventually(
      () => readStore(data.dir, (ds) => ds.items({ where: { labeled: true } })),
      (items) => items.length === seeded.size + labeled.size,
      'the page in the store',
    );
    // Exactly: the API's labels, the focus labels, and the page with its one correction, all from the person.
    expect(new Map(human.map((item) => [item.id, item.label]))).toEqual(new Map([...seeded, ...labeled]));
    for (const item of human) expect([item.labelSource, item.labeledBy]).toEqual(['human', seeded.has(item.id) ? 'seeder' : 'tester']);
    const pageLabels = new Map(human.filter((item) => pageIds.includes(item.id)).map((item) => [item.id, item.label]));
    expect(pageLabels).toEqual(new Map(pageIds.map((id) => [id, id === pageIds[1] ? other : predicted])));
    expect(consoleLines.filter((line) => line.startsWith('pageerror'))).toEqual([]);
  });
});
