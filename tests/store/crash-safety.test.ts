import { spawn } from 'node:child_process';
import path from 'node:path';
import { mulberry32 } from '../../src/random';
import { LabelStore } from '../../src/store';
import { tempDir } from '../helpers/fixtures';

interface Ack {
  seq: number;
  itemId: number;
  label: string;
}

/**
 * The kill moments are random, so that over many runs every point of a commit gets hit; the seed is printed,
 * and QUICKSORT_CRASH_SEED=N repeats a run's moments.
 */
const seed = Number(process.env.QUICKSORT_CRASH_SEED ?? Date.now() % 2 ** 31);
const random = mulberry32(seed);

/** Runs the labeling child, kills it with SIGKILL at a random moment after its first acks, returns the acks it printed. */
function labelUntilKilled(file: string, round: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'label-loop.js'), file, String(round)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks: Ack[] = [];
    let buffered = '';
    let stderr = '';
    let armed = false;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') continue;
        const [seq, itemId, label] = line.split(' ');
        acks.push({ seq: Number(seq), itemId: Number(itemId), label: label! });
      }
      if (!armed && acks.length > 0) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), 50 + random() * 400);
      }
    });
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`the child ended with code ${code} before it was killed: ${stderr}`));
      // A line cut off by the kill was never fully reported, so it is no acknowledgement.
      else resolve(acks);
    });
  });
}

describe('crash safety', () => {
  it('keeps every acknowledged label through repeated kill -9', async () => {
    console.log(`crash safety: kill moments from seed ${seed} (QUICKSORT_CRASH_SEED=${seed} repeats them)`);
    const temp = tempDir();
    const file = path.join(temp.dir, 'store.db');
    const setup = LabelStore.open(file);
    setup.upsertItems(
      Array.from({ length: 50 }, (_, i) => ({
        uri: `img-${i}.jpg`, width: 1, height: 1, format: 'jpeg', bytes: 1, mtimeMs: 0, hash: String(i), split: null,
        sourceUri: null, box: null, cocoImageId: null, cocoAnnotationId: null,
      })),
    );
    setup.close();

    const allAcks: Ack[] = [];
    for (let round = 0; round < 5; round++) allAcks.push(...(await labelUntilKilled(file, round)));
    expect(allAcks.length).toBeGreaterThan(5);

    const store = LabelStore.open(file);
    try {
      expect(store.integrityCheck()).toBe('ok');
      const events = new Map(store.events().map((event) => [event.seq, event]));
      for (const ack of allAcks) {
        const event = events.get(ack.seq);
        expect(event).toBeDefined();
        expect(event).toMatchObject({ itemId: ack.itemId, kind: 'label', payload: { label: ack.label } });
      }
      // The last acknowledged label of each item is its state, unless a later (unreported) commit replaced it.
      const lastAck = new Map(allAcks.map((ack) => [ack.itemId, ack]));
      for (const [itemId, ack] of lastAck) expect(store.item(itemId).version).toBeGreaterThanOrEqual(ack.seq);
      expect(store.checkState()).toEqual([]);
    } finally {
      store.close();
      temp.cleanup();
    }
  });
});
