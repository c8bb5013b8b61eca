import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors';
import { ACTION_KINDS, checkConfidence, checkSource, checkUser, validateAction } from './checks';
import { foldItemState } from './item-state';
import { toEvent, type EventRow, type StateRow } from './rows';
import type { Statements } from './statements';
import type { ActionEntry } from './store';
import type { ActionOptions, EventKind, ItemState, StoredEvent } from './types';

export const DEFAULT_USER = 'local';

/**
 * The store's writes of the event log: actions appended in batches, undo and redo as marker events, and each
 * touched item's state folded from its events in the same transaction. {@link LabelStore} owns the
 * connection and the write lock and hands both in.
 */
export class ActionLog {
  constructor(
    private readonly statements: Statements,
    private readonly file: string,
    private readonly write: <T>(fn: () => T) => T,
  ) {}

  actMany(entries: ActionEntry[], options: ActionOptions): StoredEvent[] {
    if (entries.length === 0) return [];
    const user = checkUser(options.user ?? DEFAULT_USER);
    const source = checkSource(options.source ?? 'human');
    const confidence = checkConfidence(options.confidence ?? null);
    const payloads = entries.map(({ action }) => validateAction(action));
    const s = this.statements;
    return this.write(() => {
      const now = Date.now();
      const seqs: number[] = [];
      entries.forEach(({ itemId, action }, index) => {
        const state = s.stateById.get(itemId) as StateRow | undefined;
        if (!state) throw new NotFoundError(`no item with id ${itemId} in ${this.file}`);
        if (options.ifVersion !== undefined && state.version !== options.ifVersion) {
          throw new ConflictError(
            `item ${itemId} changed since version ${options.ifVersion} (now ${state.version}` +
              `${state.labeled_by ? `, labeled ${JSON.stringify(state.label)} by ${state.labeled_by}` : ''}); reload it and try again`,
          );
        }
        if (action.kind === 'label') this.ensureClass(JSON.parse(payloads[index]!).label as string, now);
        seqs.push(Number(s.insertEvent.run(itemId, action.kind, payloads[index], user, source, confidence, 0, now).lastInsertRowid));
      });
      s.setBatch.run(options.batch === undefined ? seqs[0] : this.checkBatch(options.batch, user), seqs[0], seqs[seqs.length - 1]);
      for (const itemId of new Set(entries.map((entry) => entry.itemId))) this.recompute(itemId);
      return seqs.map((seq) => toEvent(s.eventBySeq.get(seq) as EventRow));
    });
  }

  undo(user: string): StoredEvent[] {
    const s = this.statements;
    return this.write(() => {
      const last = s.lastActiveBatch.get(user) as { batch: number } | undefined;
      if (!last) return [];
      const targets = (s.activeInBatch.all(last.batch) as EventRow[]).filter((row) => ACTION_KINDS.has(row.kind));
      this.writeMarkers('undo', targets, user, 1);
      return targets.map((row) => toEvent({ ...row, undone: 1 }));
    });
  }

  redo(user: string): StoredEvent[] {
    const s = this.statements;
    return this.write(() => {
      const undoBatch = this.findRedoableUndo(user);
      if (undoBatch === undefined) return [];
      const markers = s.eventsInBatch.all(undoBatch) as EventRow[];
      const targets = markers.map((marker) => s.eventBySeq.get(JSON.parse(marker.payload).target) as EventRow);
      this.writeMarkers('redo', targets, user, 0);
      return targets.map((row) => toEvent({ ...row, undone: 0 }));
    });
  }

  /** Makes the class known (labels name classes that may not exist yet); inside the caller's transaction. */
  ensureClass(name: string, now: number, key: string | null = null): void {
    if (!this.statements.classByName.get(name)) this.statements.insertClass.run(name, key, now);
  }

  /** Writes an item's state as folded from all its events, and the class counts it moves; inside the caller's transaction. */
  recompute(itemId: number): ItemState {
    const s = this.statements;
    const before = s.stateById.get(itemId) as StateRow | undefined;
    const state = foldItemState((s.eventsOfItem.all(itemId) as EventRow[]).map(toEvent));
    const counted = before && !before.deleted ? before.label : null;
    const counts = state.deleted ? null : state.label;
    if (counted !== counts) {
      if (counted !== null) s.countClass.run(-1, counted);
      if (counts !== null) s.countClass.run(1, counts);
    }
    s.writeState.run({
      itemId,
      ...state,
      skipped: Number(state.skipped),
      dontKnow: Number(state.dontKnow),
      deleted: Number(state.deleted),
      captions: JSON.stringify(state.captions),
      tags: JSON.stringify(state.tags),
    });
    return state;
  }

  /** A batch to join ({@link ActionOptions.batch}): begun by an action of the same user, still in effect. */
  private checkBatch(batch: number, user: string): number {
    const first = this.statements.eventBySeq.get(batch) as EventRow | undefined;
    if (!first || first.batch !== batch || !ACTION_KINDS.has(first.kind) || first.user !== user || first.undone) {
      throw new InvalidArgumentError(
        `batch ${batch} cannot be joined: it must be the seq that began a batch of actions by ${JSON.stringify(user)} still in effect` +
          (first ? ` (event ${batch} is a ${first.kind} by ${JSON.stringify(first.user)}${first.undone ? ', undone' : ''} in batch ${first.batch})` : ' (no such event)'),
      );
    }
    return batch;
  }

  /** Walks the user's batches newest first: each redo cancels one undo; a plain action ends the redo history. */
  private findRedoableUndo(user: string): number | undefined {
    let pendingRedos = 0;
    for (const { batch, kind } of this.statements.batchesOfUser.iterate(user) as IterableIterator<{ batch: number; kind: EventKind }>) {
      if (kind === 'redo') pendingRedos++;
      else if (kind === 'undo' && pendingRedos > 0) pendingRedos--;
      else return kind === 'undo' ? batch : undefined;
    }
    return undefined;
  }

  private writeMarkers(kind: 'undo' | 'redo', targets: EventRow[], user: string, undone: 0 | 1): void {
    if (targets.length === 0) return;
    const s = this.statements;
    const now = Date.now();
    const seqs = targets.map((target) => {
      s.setUndone.run(undone, target.seq);
      return Number(s.insertEvent.run(target.item_id, kind, JSON.stringify({ target: target.seq }), user, 'human', null, 0, now).lastInsertRowid);
    });
    s.setBatch.run(seqs[0], seqs[0], seqs[seqs.length - 1]);
    for (const itemId of new Set(targets.map((target) => target.item_id))) if (itemId !== null) this.recompute(itemId);
  }
}
