import { spawn } from 'node:child_process';
import path from 'node:path';
import { ACTION_KEY_RETENTION_MS, LabelStore } from '../../src/store';
import { tempDir } from '../helpers/fixtures';

/** The store's record of actions applied under idempotency keys (issue 17): written with the events, or not at all. */
describe('action keys', () => {
  let temp: ReturnType<typeof tempDir>;
  let file: string;
  let store: LabelStore;

  beforeEach(() => {
    temp = tempDir();
    file = path.join(temp.dir, 'store.db');
    store = LabelStore.open(file);
    store.upsertItems([1, 2, 3].map((n) => ({ uri: `${n}.jpg`, width: 8, height: 8, format: 'jpeg', bytes: 1, mtimeMs: 0, hash: `h${n}`, split: null, sourceUri: null, box: null, cocoImageId: null, cocoAnnotationId: null })));
  });
  afterEach(() => {
    store.close();
    temp.cleanup();
  });

  it('records the key with the range of events the action appended', () => {
    const events = store.applyOnce('ann', 'k1', 'd1', () => store.actMany([{ itemId: 1, action: { kind: 'label', label: 'cat' } }, { itemId: 2, action: { kind: 'skip' } }], { user: 'ann' }));
    expect(store.actionKey('ann', 'k1')).toMatchObject({ digest: 'd1', firstSeq: events[0]!.seq, lastSeq: events[1]!.seq });
    // An action that appended nothing (an undo with nothing to undo) is recorded too, without events.
    store.applyOnce('ann', 'k2', 'd2', () => store.undo('nobody'));
    expect(store.actionKey('ann', 'k2')).toMatchObject({ firstSeq: null, lastSeq: null });
    expect(store.actionKey('bob', 'k1')).toBeUndefined();
    expect(() => store.applyOnce('ann', 'k1', 'd1', () => undefined)).toThrow(/"k1".*applied before/);
  });

  it('records no key when the action fails: both are rolled back together', () => {
    expect(() => store.applyOnce('ann', 'k1', 'd1', () => store.act(1, { kind: 'label', label: 'cat' }, { user: 'ann', ifVersion: 42 }))).toThrow(/changed since version 42/);
    expect(store.actionKey('ann', 'k1')).toBeUndefined();
    expect(store.events()).toHaveLength(0);
  });

  it('keeps the keys when the store is opened again, and forgets those older than the retention', () => {
    store.applyOnce('ann', 'old', 'd', () => store.act(1, { kind: 'skip' }, { user: 'ann' }));
    store.db.prepare('UPDATE action_keys SET time = ? WHERE key = ?').run(Date.now() - ACTION_KEY_RETENTION_MS - 1000, 'old');
    store.close();
    store = LabelStore.open(file);
    expect(store.actionKey('ann', 'old')).toBeDefined();
    store.applyOnce('ann', 'new', 'd', () => store.act(2, { kind: 'skip' }, { user: 'ann' }));
    expect(store.actionKey('ann', 'old')).toBeUndefined();
    expect(store.actionKey('ann', 'new')).toBeDefined();
  });

  it('holds the key of an action committed by a process killed before it could answer', async () => {
    store.close();
    const exit = await new Promise<string | number | null>((resolve) => {
      const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'keyed-label-then-kill.js'), file, 'page:1'], { stdio: 'ignore' });
      child.once('exit', (code, signal) => resolve(signal ?? code));
    });
    expect(exit).toBe('SIGKILL');
    store = LabelStore.open(file);
    const applied = store.actionKey('ann', 'page:1');
    expect(applied).toMatchObject({ digest: 'digest-of-the-label' });
    expect(store.events().map((event) => [event.seq, event.itemId, event.kind])).toEqual([[applied!.firstSeq, 1, 'label']]);
  });
});
