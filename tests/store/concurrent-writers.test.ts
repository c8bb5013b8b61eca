import { spawn } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreBusyError } from '../../src/errors';
import { LabelStore, type ItemRecord } from '../../src/store';
import { tempDir } from '../helpers/fixtures';

const WRITER = path.join(__dirname, 'fixtures', 'label-writer.js');

interface Ack {
  seq: number;
  itemId: number;
  label: string;
}

function record(i: number): ItemRecord {
  return {
    uri: `img-${i}.jpg`, width: 1, height: 1, format: 'jpeg', bytes: 1, mtimeMs: 0, hash: String(i), split: null,
    sourceUri: null, box: null, cocoImageId: null, cocoAnnotationId: null,
  };
}

/** Runs one writer process (dist/store) to its end; resolves with its acknowledgements and its refusals. */
function runWriter(file: string, writer: string, first: number, count: number, durability: 'full' | 'normal'): Promise<{ acks: Ack[]; failures: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, file, writer, String(first), String(count), durability], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`writer ${writer} exited with ${code}: ${stderr}`));
      const lines = stdout.split('\n').filter(Boolean);
      const acks = lines.filter((line) => line.startsWith('ack ')).map((line) => {
        const [, seq, itemId, label] = line.split(' ');
        return { seq: Number(seq), itemId: Number(itemId), label: label! };
      });
      resolve({ acks, failures: lines.filter((line) => !line.startsWith('ack ')) });
    });
  });
}

/** Every acknowledged label is in the log as acknowledged, the derived state agrees with it, SQLite is sound. */
function expectDurable(file: string, acks: Ack[]): void {
  const store = LabelStore.open(file);
  try {
    expect(store.integrityCheck()).toBe('ok');
    expect(store.checkState()).toEqual([]);
    const events = new Map(store.events().map((event) => [event.seq, event]));
    expect(events.size).toBe(acks.length);
    for (const ack of acks) expect(events.get(ack.seq)).toMatchObject({ itemId: ack.itemId, kind: 'label', payload: { label: ack.label } });
    // Each item ends with the label acknowledged last (the highest seq: seqs are given under the write lock).
    const last = new Map<number, Ack>();
    for (const ack of [...acks].sort((a, b) => a.seq - b.seq)) last.set(ack.itemId, ack);
    for (const [itemId, ack] of last) expect(store.item(itemId)).toMatchObject({ label: ack.label, version: ack.seq });
  } finally {
    store.close();
  }
}

describe('concurrent writers', () => {
  let temp: ReturnType<typeof tempDir>;
  let file: string;

  beforeEach(() => {
    temp = tempDir();
    file = path.join(temp.dir, 'quicksort.db');
  });
  afterEach(() => temp.cleanup());

  function makeItems(count: number): number[] {
    const store = LabelStore.open(file);
    try {
      return store.upsertItems(Array.from({ length: count }, (_, i) => record(i)));
    } finally {
      store.close();
    }
  }

  // `normal` durability: this test is about locking, not fsync, and 3,000 fsynced commits take ~12 s here.
  it('3 processes × 1,000 labels on distinct items: none refused, every acknowledged label stored', async () => {
    const ids = makeItems(3000);
    const runs = await Promise.all([0, 1, 2].map((k) => runWriter(file, `writer-${k}`, ids[k * 1000]!, 1000, 'normal')));
    expect(runs.flatMap((run) => run.failures)).toEqual([]);
    const acks = runs.flatMap((run) => run.acks);
    expect(acks).toHaveLength(3000);
    expectDurable(file, acks);
  }, 60_000);

  // The default durability (`full`, as the CLI and the server run): the write lock is held through each fsync.
  it('3 processes × 1,000 labels on the same items: none refused, the last acknowledged label wins', async () => {
    const ids = makeItems(1000);
    const runs = await Promise.all([0, 1, 2].map((k) => runWriter(file, `writer-${k}`, ids[0]!, 1000, 'full')));
    expect(runs.flatMap((run) => run.failures)).toEqual([]);
    const acks = runs.flatMap((run) => run.acks);
    expect(acks).toHaveLength(3000);
    expectDurable(file, acks);
  }, 90_000);

  it('creates the store once when several processes open a new one at the same moment', async () => {
    const runs = await Promise.all([0, 1, 2, 3].map((k) => runWriter(file, `writer-${k}`, 1, 0, 'full')));
    expect(runs.flatMap((run) => run.failures)).toEqual([]);
    const store = LabelStore.open(file);
    try {
      expect(store.integrityCheck()).toBe('ok');
      expect(store.stats().items).toBe(0);
    } finally {
      store.close();
    }
  }, 60_000);

  it('refuses a write with a retryable StoreBusyError when another process holds the lock past the timeout, and saves nothing', () => {
    const [id] = makeItems(1) as [number];
    const store = LabelStore.open(file, { busyTimeoutMs: 50 });
    const other = new Database(file);
    try {
      other.exec('BEGIN IMMEDIATE');
      let refusal: unknown;
      try {
        store.act(id, { kind: 'label', label: 'cat' });
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(StoreBusyError);
      expect(refusal).toMatchObject({ code: 'BUSY', exitCode: 75, retryable: true });
      expect((refusal as Error).message).toContain(file);
      expect((refusal as Error).message).toMatch(/busy with another writer.*retry/);
      other.exec('ROLLBACK');
      expect(store.events()).toEqual([]);
      // Once the lock is free, the same call goes through.
      expect(store.act(id, { kind: 'label', label: 'cat' })).toMatchObject({ itemId: id, payload: { label: 'cat' } });
    } finally {
      other.close();
      store.close();
    }
  });
});
