import { cpSync, existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { Dataset } from '../../src/dataset';
import { loadEmbeddings } from '../../src/embed';
import { startServer } from '../../src/server';
import { SessionHost, type ServerMessage, type TextLoopOptions } from '../../src/session';
import { SessionTestClient as Client, type Message } from './session-test-client';
import { prepareJointSpace } from '../../src/session/prepare-joint-space';
import { JOINT_CACHE_FILE, TEXT_MODEL_FILE, textModelDir } from '../../src/text';
import { REPO, tempDir, COCO_MINI_CAPTIONS, COCO_MINI_IMAGES } from '../helpers/fixtures';
import { ensureAppBuilt } from '../server/server-helpers';

/*
 * Captions and search by meaning in a labeling session, with real components: coco-mini-train's 80 images
 * ingested into SQLite and embedded with the default ONNX model, its COCO captions imported by another
 * writer while a session runs, the text model trained by itself in its worker, searched through the protocol.
 */

const COCO_CAPTIONS = COCO_MINI_CAPTIONS;


const isTextState = (status: string) => (m: ServerMessage) => m.type === 'text_model' && m.state.status === status;

describe('captions and search by meaning in a labeling session', () => {
  jest.setTimeout(120_000);
  let temp: ReturnType<typeof tempDir>;
  let dir: string;
  let ds: Dataset;
  /** Each image's COCO captions, by file name. */
  let captionsOf: Map<string, string[]>;
  const hosts: SessionHost[] = [];

  function hostWith(textTraining: TextLoopOptions | false): SessionHost {
    const host = new SessionHost(ds, { embeddings: loadEmbeddings(dir, { store: ds.store }), followIntervalMs: 20, textTraining, thumbnailCache: false });
    hosts.push(host);
    return host;
  }

  beforeAll(async () => {
    temp = tempDir('quicksort-text-session-');
    dir = path.join(temp.dir, 'images');
    cpSync(COCO_MINI_IMAGES, dir, { recursive: true });
    ds = await Dataset.open(dir, { user: 'ann' });
    await ds.ingest();
    await ds.embed();
    const coco = JSON.parse(readFileSync(COCO_CAPTIONS, 'utf8')) as { images: { id: number; file_name: string }[]; annotations: { image_id: number; caption: string }[] };
    const names = new Map(coco.images.map((image) => [image.id, image.file_name]));
    captionsOf = new Map();
    for (const a of coco.annotations) captionsOf.set(names.get(a.image_id)!, [...(captionsOf.get(names.get(a.image_id)!) ?? []), a.caption.trim()]);
  }, 180_000);
  afterAll(async () => {
    for (const host of hosts) await host.close();
    ds?.close();
    temp?.cleanup();
  });

  it('says there is no text model yet, and what to do, in the welcome and when asked to search', async () => {
    const host = hostWith({ everyCaptions: 1000, idleMs: Infinity });
    const ann = new Client(host, 'ann');
    const welcome = (await ann.send({ type: 'hello' })) as Message<'welcome'>;
    expect(welcome.textModel).toMatchObject({ status: 'none' });
    const refused = await ann.send({ type: 'search', text: 'a dog on a sofa' });
    expect(refused).toMatchObject({ type: 'refused', code: 'not_found' });
    expect((refused as Message<'refused'>).reason).toMatch(/no text model yet: add captions .* and train one \(quicksort text train; the app trains one by itself after 1000 new captions\)/);
    const suggestions = await ann.send({ type: 'caption_suggestions', itemId: ds.items()[0]!.id });
    expect(suggestions).toMatchObject({ type: 'refused', code: 'not_found' });
    // Bad requests are refused naming the field.
    expect(await ann.send({ type: 'search', text: 'x', filter: { colour: 'red' } })).toMatchObject({ type: 'refused', code: 'protocol', reason: expect.stringMatching(/field filter must be an object with some of label, tag, unlabeled, split/) });
    expect(await ann.send({ type: 'neighbors', itemId: 1, among: 'everything' })).toMatchObject({ type: 'refused', reason: expect.stringMatching(/field among must be "labeled" or "all"/) });
  });

  it('adds and removes captions, authored by the session user, with versions checked, undo and redo', async () => {
    const host = hostWith(false);
    const ann = new Client(host, 'ann');
    const bob = new Client(host, 'bob');
    await ann.send({ type: 'hello' });
    await bob.send({ type: 'hello' });
    const item = ds.items()[3]!;
    const added = (await ann.send({ type: 'add_caption', itemId: item.id, caption: 'two zebras by a fence', version: item.version })) as Message<'ack'>;
    expect(added.type).toBe('ack');
    expect(added.items![0]!.captions).toEqual([{ text: 'two zebras by a fence', source: 'human', author: 'ann' }]);
    // Bob's second caption sits beside Ann's; a stale version is refused with the item as it is now.
    const stale = await bob.send({ type: 'add_caption', itemId: item.id, caption: 'zebras', version: item.version });
    expect(stale).toMatchObject({ type: 'refused', code: 'conflict', items: [{ id: item.id, captions: [{ text: 'two zebras by a fence' }] }] });
    const second = (await bob.send({ type: 'add_caption', itemId: item.id, caption: 'zebras grazing' })) as Message<'ack'>;
    expect(second.items![0]!.captions!.map((c) => [c.text, c.author])).toEqual([['two zebras by a fence', 'ann'], ['zebras grazing', 'bob']]);
    expect(await ann.send({ type: 'add_caption', itemId: item.id, caption: '   ' })).toMatchObject({ type: 'refused', code: 'invalid_argument', reason: expect.stringMatching(/empty/) });

    // Removing takes away only the session user's own caption of that text.
    const removed = (await bob.send({ type: 'remove_caption', itemId: item.id, caption: 'two zebras by a fence' })) as Message<'ack'>;
    expect(removed.items![0]!.captions!.map((c) => c.text)).toEqual(['two zebras by a fence', 'zebras grazing']);
    const own = (await ann.send({ type: 'remove_caption', itemId: item.id, caption: 'two zebras by a fence' })) as Message<'ack'>;
    expect(own.items![0]!.captions!.map((c) => c.text)).toEqual(['zebras grazing']);
    const undone = (await ann.send({ type: 'undo' })) as Message<'ack'>;
    expect(undone.items![0]!.captions!.map((c) => c.text)).toEqual(['two zebras by a fence', 'zebras grazing']);
    const redone = (await ann.send({ type: 'redo' })) as Message<'ack'>;
    expect(redone.items![0]!.captions!.map((c) => c.text)).toEqual(['zebras grazing']);
    expect(ds.store.item(item.id).captions.map((c) => c.text)).toEqual(['zebras grazing']);
    // Bob heard about Ann's undo and redo.
    expect(bob.inbox.filter((m) => m.type === 'items').length).toBeGreaterThanOrEqual(2);
    // Clean up for the trainings below: the COCO captions are what they learn.
    await bob.send({ type: 'remove_caption', itemId: item.id, caption: 'zebras grazing' });
  });

  it('trains by itself when captions arrive from another writer, tells every client, then searches the new model', async () => {
    const host = hostWith({ everyCaptions: 400, idleMs: Infinity, training: { epochs: 6 } });
    const ann = new Client(host, 'ann');
    await ann.send({ type: 'hello' });
    const started = ann.next(isTextState('training'));
    const ready = ann.next(isTextState('ready'));
    // Another writer (a notebook cell, the CLI): the host meets the captions in the store's log.
    const report = await ds.importCaptions({ file: COCO_CAPTIONS });
    expect(report).toMatchObject({ added: 400 });
    expect(await started).toMatchObject({ state: { status: 'training', epoch: 0, epochs: 6, loss: null } });
    const state = ((await ready) as Message<'text_model'>).state;
    expect(state).toMatchObject({ status: 'ready', captions: 400, images: 80 });
    const epochs = ann.inbox.flatMap((m) => (m.type === 'text_model' && m.state.status === 'training' ? [m.state] : []));
    expect(epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(epochs.at(-1)!.loss).toBeLessThan(epochs[1]!.loss!);
    await host.text.settled();
    expect(host.text.isTraining).toBe(false);

    // A new client is welcomed with the model's state.
    const bob = new Client(host, 'bob');
    expect(((await bob.send({ type: 'hello' })) as Message<'welcome'>).textModel).toMatchObject({ status: 'ready', captions: 400, images: 80 });

    // One of an image's captions finds it near the top, answered as a page with scores, best first.
    const ranks: number[] = [];
    for (const [name, captions] of [...captionsOf].slice(0, 10)) {
      const answer = (await ann.send({ type: 'search', text: captions[0]!, k: 80 })) as Message<'search'>;
      expect(answer.type).toBe('search');
      expect(answer.items).toHaveLength(80);
      expect(answer.scores).toHaveLength(80);
      for (let i = 1; i < answer.scores.length; i++) expect(answer.scores[i]).toBeLessThanOrEqual(answer.scores[i - 1]!);
      ranks.push(answer.items.findIndex((item) => item.uri === name) + 1);
    }
    ranks.sort((a, b) => a - b);
    expect(ranks[0]).toBeGreaterThan(0);
    expect(ranks[Math.floor(ranks.length / 2)]).toBeLessThanOrEqual(15); // chance: rank 40 of 80

    // The results are labelled, tagged and captioned in bulk like a grid page, and filters apply in the same query.
    const query = captionsOf.values().next().value![0]!;
    const first = (await ann.send({ type: 'search', text: query, k: 6 })) as Message<'search'>;
    const ids = first.items.map((item) => item.id);
    expect(await ann.send({ type: 'accept_page', label: 'found', itemIds: ids.slice(0, 3) })).toMatchObject({ type: 'ack' });
    for (const id of ids.slice(3)) expect(await ann.send({ type: 'tags', itemId: id, tags: ['picked'] })).toMatchObject({ type: 'ack' });
    expect(await ann.send({ type: 'add_caption', itemId: ids[0], caption: 'found by searching' })).toMatchObject({ type: 'ack' });
    const labelled = (await ann.send({ type: 'search', text: query, k: 50, filter: { label: 'found' } })) as Message<'search'>;
    expect(labelled.items.map((item) => item.id).sort()).toEqual(ids.slice(0, 3).sort());
    expect(labelled.items.every((item) => item.label === 'found')).toBe(true);
    const tagged = (await ann.send({ type: 'search', text: query, k: 50, filter: { tag: 'picked', unlabeled: true } })) as Message<'search'>;
    expect(tagged.items.map((item) => item.id).sort()).toEqual(ids.slice(3).sort());
    const unlabeled = (await ann.send({ type: 'search', text: query, k: 80, filter: { unlabeled: true } })) as Message<'search'>;
    expect(unlabeled.items).toHaveLength(77);
    expect(unlabeled.items.some((item) => ids.slice(0, 3).includes(item.id))).toBe(false);
    expect(((await ann.send({ type: 'search', text: query, filter: { split: 'val' } })) as Message<'search'>).items).toEqual([]);
    expect(await ann.send({ type: 'search', text: '  ' })).toMatchObject({ type: 'refused', code: 'invalid_argument', reason: expect.stringMatching(/search text is empty/) });
    expect(await ann.send({ type: 'search', text: query, k: 501 })).toMatchObject({ type: 'refused', code: 'invalid_argument', reason: 'search: k must be 1 to 500; got 501' });
  });

  it('answers "more like this" (image → image) and caption suggestions (image → captions)', async () => {
    const host = hostWith(false);
    const ann = new Client(host, 'ann');
    await ann.send({ type: 'hello' });
    const item = ds.items().find((i) => i.uri === [...captionsOf.keys()][5])!;
    const similar = (await ann.send({ type: 'neighbors', itemId: item.id, k: 5, among: 'all' })) as Message<'neighbors'>;
    expect(similar.items).toHaveLength(5);
    expect(similar.items.map((i) => i.id)).not.toContain(item.id);
    expect(similar.scores).toHaveLength(5);
    for (let i = 1; i < 5; i++) expect(similar.scores![i]).toBeLessThanOrEqual(similar.scores![i - 1]!);
    expect(similar.scores![0]).toBeLessThanOrEqual(1);
    // The plain strip (labeled neighbours only) is unchanged: no scores.
    expect(await ann.send({ type: 'neighbors', itemId: item.id })).not.toHaveProperty('scores');

    const suggestions = (await ann.send({ type: 'caption_suggestions', itemId: item.id, k: 50 })) as Message<'caption_suggestions'>;
    const own = new Set(ds.store.item(item.id).captions.map((c) => c.text));
    expect(own.size).toBe(5);
    expect(suggestions.captions).toHaveLength(50);
    expect(suggestions.captions.some((c) => own.has(c.text))).toBe(false);
    for (let i = 1; i < suggestions.captions.length; i++) expect(suggestions.captions[i]!.score).toBeLessThanOrEqual(suggestions.captions[i - 1]!.score);
    // The joint space brings captions of look-alike images (its nearest neighbours) before the rest.
    const nearImages = new Set(similar.items.map((i) => i.uri));
    const nearCaptions = new Set([...captionsOf].filter(([name]) => nearImages.has(name)).flatMap(([, captions]) => captions));
    const top = suggestions.captions.slice(0, 20).filter((c) => nearCaptions.has(c.text)).length;
    expect(top / 20).toBeGreaterThan(nearCaptions.size / 400); // the share of those captions among all of them
    expect(await ann.send({ type: 'caption_suggestions', itemId: item.id, k: 51 })).toMatchObject({ type: 'refused', reason: 'caption_suggestions: k must be 1 to 50; got 51' });
  });

  it('projects the items into a new joint space in a worker, leaving it cached for the session to read', async () => {
    const cache = path.join(textModelDir(dir), JOINT_CACHE_FILE);
    unlinkSync(cache);
    await prepareJointSpace({ root: dir, storeFile: ds.store.file });
    expect(existsSync(cache)).toBe(true);
    // Stopped before it starts: nothing is written, and the open that follows computes it itself.
    unlinkSync(cache);
    await prepareJointSpace({ root: dir, storeFile: ds.store.file }, AbortSignal.abort());
    expect(existsSync(cache)).toBe(false);
  });

  it('serves the same messages through the HTTP/WebSocket server', async () => {
    await ensureAppBuilt();
    const server = await startServer({ dataset: dir, port: 0, user: 'cy' });
    try {
      const socket = new WebSocket(`ws://127.0.0.1:${server.port}/api/socket?token=${server.token}`);
      const inbox: ServerMessage[] = [];
      const waiting = new Map<number, (message: ServerMessage) => void>();
      socket.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString('utf8')) as ServerMessage;
        inbox.push(message);
        const requestId = (message as { requestId?: number }).requestId;
        if (requestId !== undefined) waiting.get(requestId)?.(message);
      });
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      let nextId = 1;
      const ask = (message: Record<string, unknown>) =>
        new Promise<ServerMessage>((resolve) => {
          const requestId = nextId++;
          waiting.set(requestId, resolve);
          socket.send(JSON.stringify({ requestId, ...message }));
        });
      expect(await ask({ type: 'hello' })).toMatchObject({ type: 'welcome', user: 'cy', textModel: { status: 'ready', captions: 400 } });
      const answer = (await ask({ type: 'search', text: 'a man riding a horse', k: 4, filter: { unlabeled: true } })) as Message<'search'>;
      expect(answer).toMatchObject({ type: 'search', text: 'a man riding a horse' });
      expect(answer.items).toHaveLength(4);
      expect(answer.scores).toHaveLength(4);
      const item = answer.items[0]!;
      const added = (await ask({ type: 'add_caption', itemId: item.id, caption: 'a rider', version: item.version })) as Message<'ack'>;
      expect(added.items![0]!.captions!.at(-1)).toEqual({ text: 'a rider', source: 'human', author: 'cy' });
      socket.close();
    } finally {
      await server.close();
    }
  });

  it('trains after a pause in captioning, and stops the training cleanly when the host closes', async () => {
    const modelFile = path.join(textModelDir(dir), TEXT_MODEL_FILE);
    expect(existsSync(modelFile)).toBe(true);
    const savedAt = statSync(modelFile).mtimeMs;
    const host = hostWith({ everyCaptions: 1000, idleMs: 1, training: { epochs: 500 } });
    const ann = new Client(host, 'ann');
    await ann.send({ type: 'hello' });
    const training = ann.next((m) => m.type === 'text_model' && m.state.status === 'training' && m.state.epoch >= 1);
    // One caption, then nothing: the idle timer starts the training.
    expect(await ann.send({ type: 'add_caption', itemId: ds.items()[0]!.id, caption: 'a picture worth a search' })).toMatchObject({ type: 'ack' });
    await training;
    expect(host.text.isTraining).toBe(true);
    // A search during the training answers with the model in use.
    expect(await ann.send({ type: 'search', text: 'a dog', k: 3 })).toMatchObject({ type: 'search', items: [{}, {}, {}] });
    await host.close();
    expect(host.text.isTraining).toBe(false);
    // Stopped between two steps, far from its 500 epochs (the loop's state keeps the last epoch reached).
    expect(host.text.state).toMatchObject({ status: 'training', epochs: 500 });
    expect((host.text.state as { epoch: number }).epoch).toBeLessThan(500);
    expect(ann.inbox.some(isTextState('ready'))).toBe(false);
    expect(ann.inbox.some(isTextState('failed'))).toBe(false);
    // Nothing half-written: the saved model is the one before.
    expect(statSync(modelFile).mtimeMs).toBe(savedAt);
  });
});
