import type { ItemView } from '../../../src/session/protocol';
import type { Connection } from './connection';
import { shortName, type Notices } from './notices';
import type { Request } from './session-client';

type ActionKind = 'label' | 'accept' | 'skip' | 'dont_know' | 'caption' | 'tags' | 'edit_many' | 'reject_vlm' | 'accept_page' | 'redo';

/** Tags and a caption for many items at once (a grid selection). */
export interface BulkEdit {
  addTags?: string[];
  removeTags?: string[];
  addCaption?: string;
}

/** What a batch brings back besides its items (a grid page): on undo, or when the engine refuses it. */
export interface BatchRestore {
  undone(): void;
  refused(): void;
}

interface HistoryEntry {
  requestId: number;
  kind: ActionKind;
  /** The items as they were before the action, to show again on undo. */
  before: ItemView[];
  restore?: BatchRestore;
}

interface FrontEntry {
  id: number;
  /** The undo that brought it back; the entry goes once that undo is confirmed and a queue follows. */
  until: number;
  confirmed: boolean;
}

/**
 * The items as this client shows them, and the queue of what to label next, with every action optimistic:
 * a label takes the item off the screen at once and is confirmed by the engine's `ack`; a `refused` rolls it
 * back with a visible message; undo brings the item back in front before the engine confirms it.
 */
export class FocusQueue {
  private readonly views = new Map<number, ItemView>();
  private serverQueue: number[] = [];
  /** Items acted on and not yet confirmed: hidden from the queue. Item id → request id. */
  private readonly pendingItems = new Map<number, number>();
  private pendingLabelCount = 0;
  private front: FrontEntry[] = [];
  private history: HistoryEntry[] = [];

  constructor(
    private readonly connection: Connection,
    private readonly notices: Notices,
    /** Called when the engine confirmed a change of labels (the stats follow). */
    private readonly onSaved: () => void,
  ) {}

  get items(): ReadonlyMap<number, ItemView> {
    return this.views;
  }

  /** Labels this client made that the engine has not confirmed yet. */
  get pendingLabels(): number {
    return this.pendingLabelCount;
  }

  /** Items brought back by undo first, then the engine's queue without what this client just acted on. */
  queue(): ItemView[] {
    const seen = new Set<number>();
    const out: ItemView[] = [];
    for (const id of [...this.front.map((entry) => entry.id), ...this.serverQueue]) {
      const view = this.views.get(id);
      if (view && !seen.has(id) && !this.pendingItems.has(id)) {
        seen.add(id);
        out.push(view);
      }
    }
    return out;
  }

  /** The engine's queue, pushed. */
  takeQueue(items: readonly ItemView[]): void {
    this.applyViews(items);
    this.serverQueue = items.map((item) => item.id);
    // Undone items the engine has put back in its own queue need no place of their own any more.
    this.front = this.front.filter((entry) => !entry.confirmed);
  }

  /** Takes the engine's views of items, unless this client holds a newer optimistic one. */
  applyViews(views: readonly ItemView[]): void {
    for (const view of views) {
      const held = this.views.get(view.id);
      if (held && held.version > view.version) continue;
      // Acted on and not confirmed: this client's optimistic view stands until the reply.
      if (this.pendingItems.has(view.id)) continue;
      if (this.front.some((entry) => entry.id === view.id && !entry.confirmed)) continue;
      this.views.set(view.id, view);
    }
  }

  // ---- the current item ----------------------------------------------------------------------------------

  label(label: string): void {
    const item = this.queue()[0];
    if (!item) return this.nothingToLabel();
    this.actOnItem(item, { type: 'label', itemId: item.id, label }, 'label', `${shortName(item)} labeled ${label}`);
  }

  /** Enter: the suggestion as is. */
  accept(): void {
    const item = this.queue()[0];
    if (!item) return this.nothingToLabel();
    if (!item.suggestion) return this.notices.toast('info', 'No suggestion for this item yet: press the key of its class.');
    // The class on screen goes with it: the engine records what the person saw, not a newer guess.
    this.actOnItem(item, { type: 'accept', itemId: item.id, label: item.suggestion.label }, 'accept', `${shortName(item)} accepted as ${item.suggestion.label}`);
  }

  skip(): void {
    const item = this.queue()[0];
    if (!item) return this.nothingToLabel();
    this.actOnItem(item, { type: 'skip', itemId: item.id }, 'skip', `${shortName(item)} skipped`);
  }

  dontKnow(): void {
    const item = this.queue()[0];
    if (!item) return this.nothingToLabel();
    this.actOnItem(item, { type: 'dont_know', itemId: item.id }, 'dont_know', `${shortName(item)}: don't know`);
  }

  private nothingToLabel(): void {
    this.notices.toast('info', 'Nothing left in the queue.');
  }

  /** The optimistic core: the item leaves the screen now; the ack confirms, a refusal brings it back. */
  private actOnItem(item: ItemView, request: Request, kind: ActionKind, announcement: string): void {
    const labels = kind === 'label' || kind === 'accept';
    const requestId = this.connection.send(request, (reply) => {
      if (this.pendingItems.get(item.id) === requestId) {
        this.pendingItems.delete(item.id);
        if (labels) this.pendingLabelCount--;
      }
      if (reply.type === 'ack') {
        this.applyViews(reply.items ?? []);
        this.serverQueue = this.serverQueue.filter((id) => id !== item.id);
        this.onSaved();
      } else if (reply.type === 'refused') {
        this.forget(requestId);
        if (reply.items) this.applyViews(reply.items);
        // Someone else labeled it first: it is no longer this client's to label.
        if (reply.items?.some((view) => view.id === item.id && view.labelSource === 'human')) this.serverQueue = this.serverQueue.filter((id) => id !== item.id);
        this.notices.toast('error', `Not saved — ${shortName(item)}: ${reply.reason}`);
      }
    });
    this.pendingItems.set(item.id, requestId);
    if (labels) this.pendingLabelCount++;
    this.front = this.front.filter((entry) => entry.id !== item.id);
    this.history.push({ requestId, kind, before: [item] });
    this.notices.announce(announcement);
  }

  /**
   * Many items labeled as one undoable action (a grid page, a browse selection), with `corrections` to other
   * classes. Shown labeled at once (the browse grid keeps them in place); hidden from the queue until confirmed.
   */
  labelMany(ids: number[], label: string, corrections: { itemId: number; label: string }[], restore?: BatchRestore): void {
    const before = ids.map((id) => this.views.get(id)).filter((view): view is ItemView => view !== undefined);
    const fixed = new Map(corrections.map((c) => [c.itemId, c.label]));
    const requestId = this.connection.send({ type: 'accept_page', label, itemIds: ids, ...(corrections.length ? { corrections } : {}) }, (reply) => {
      for (const id of ids) {
        if (this.pendingItems.get(id) === requestId) {
          this.pendingItems.delete(id);
          this.pendingLabelCount--;
        }
      }
      if (reply.type === 'ack') {
        this.applyViews(reply.items ?? []);
        const done = new Set(ids);
        this.serverQueue = this.serverQueue.filter((id) => !done.has(id));
        this.onSaved();
      } else if (reply.type === 'refused') {
        this.forget(requestId);
        for (const view of before) this.views.set(view.id, view);
        restore?.refused();
        this.notices.toast('error', `Not saved — ${ids.length} items as ${label}: ${reply.reason}`);
      }
    });
    for (const view of before) this.views.set(view.id, { ...view, label: fixed.get(view.id) ?? label, labelSource: 'human', labeledBy: this.connection.user, suggestion: null });
    for (const id of ids) {
      this.pendingItems.set(id, requestId);
      this.pendingLabelCount++;
    }
    this.history.push({ requestId, kind: 'accept_page', before, restore });
    this.notices.announce(`${ids.length} items labeled ${label}${corrections.length ? `, ${corrections.length} corrected` : ''}`);
  }

  // ---- caption and tags ----------------------------------------------------------------------------------

  setCaption(itemId: number, caption: string | null): void {
    const before = this.views.get(itemId);
    if (!before) return;
    const clean = caption && caption.trim() !== '' ? caption : null;
    if ((before.caption ?? null) === clean) return;
    this.editItem(before, { ...before, caption: clean }, { type: 'caption', itemId, caption: clean }, 'caption', clean ? 'caption saved' : 'caption removed');
  }

  setTags(itemId: number, tags: string[]): void {
    const before = this.views.get(itemId);
    if (!before) return;
    const clean = [...new Set(tags.map((tag) => tag.trim()).filter(Boolean))];
    if (JSON.stringify(clean) === JSON.stringify(before.tags)) return;
    this.editItem(before, { ...before, tags: clean }, { type: 'tags', itemId, tags: clean }, 'tags', `tags: ${clean.join(', ') || 'none'}`);
  }

  /** Tags and a caption for many items as one undoable batch: shown at once, taken back if refused. */
  editMany(ids: number[], edit: BulkEdit): void {
    const before = ids.map((id) => this.views.get(id)).filter((view): view is ItemView => view !== undefined);
    if (before.length === 0) return;
    const remove = new Set(edit.removeTags ?? []);
    const caption = edit.addCaption?.trim();
    const after = before.map((view) => ({
      ...view,
      tags: [...new Set([...view.tags.filter((tag) => !remove.has(tag)), ...(edit.addTags ?? [])])],
      ...(caption ? { caption: view.caption ?? caption, captions: [...(view.captions ?? []), { text: caption, source: 'human', author: this.connection.user }] } : {}),
    }));
    const what = [edit.addTags?.length ? `tagged ${edit.addTags.join(', ')}` : '', edit.removeTags?.length ? `untagged ${edit.removeTags.join(', ')}` : '', caption ? 'captioned' : ''].filter(Boolean).join(', ');
    this.editItems(before, after, { type: 'edit_many', itemIds: before.map((view) => view.id), ...edit }, 'edit_many', `${before.length} items ${what}`);
  }

  /**
   * Turns a VLM's suggestion down: its label (the item stays, unlabeled, with the head's suggestion once the
   * engine answers) or one of its caption drafts. Undone like any other edit.
   */
  rejectVlm(itemId: number, caption?: string): void {
    const before = this.views.get(itemId);
    if (!before) return;
    if (caption === undefined && before.labelSource !== 'vlm') return this.notices.toast('info', 'No VLM suggestion on this item to turn down.');
    const after: ItemView =
      caption === undefined
        ? { ...before, label: null, labelSource: null, labeledBy: null, suggestion: null, vlmExamples: undefined }
        : { ...before, captions: (before.captions ?? []).filter((c) => !(c.source === 'vlm' && c.text === caption)) };
    this.editItem(before, after, { type: 'reject_vlm', itemId, ...(caption !== undefined ? { caption } : {}) }, 'reject_vlm', caption === undefined ? `VLM suggestion turned down` : 'VLM caption draft turned down');
  }

  private editItem(before: ItemView, after: ItemView, request: Request, kind: ActionKind, announcement: string): void {
    this.editItems([before], [after], request, kind, announcement);
  }

  private editItems(before: ItemView[], after: ItemView[], request: Request, kind: ActionKind, announcement: string): void {
    for (const view of after) this.views.set(view.id, view);
    const requestId = this.connection.send(request, (reply) => {
      if (reply.type === 'ack') {
        this.applyViews(reply.items ?? []);
      } else if (reply.type === 'refused') {
        this.forget(requestId);
        for (const view of before) this.views.set(view.id, reply.items?.find((fresh) => fresh.id === view.id) ?? view);
        this.notices.toast('error', `Not saved — ${kind === 'edit_many' ? 'tags and captions' : kind === 'reject_vlm' ? 'turning down the VLM' : kind} of ${before.length === 1 ? shortName(before[0]!) : `${before.length} items`}: ${reply.reason}`);
      }
    });
    this.history.push({ requestId, kind, before });
    this.notices.announce(announcement);
  }

  // ---- undo / redo ---------------------------------------------------------------------------------------

  /** Takes back this user's last action: shown at once, confirmed by the engine. */
  undo(): void {
    const entry = this.history.pop();
    const requestId = this.connection.send({ type: 'undo' }, (reply) => {
      if (reply.type === 'ack') {
        for (const front of this.front) if (front.until === requestId) front.confirmed = true;
        const views = reply.items ?? [];
        // The engine's answer is the truth, even where this client guessed another action.
        for (const view of views) this.views.set(view.id, view);
        if (views.length === 0) this.notices.toast('info', 'Nothing to undo.');
        this.onSaved();
      } else if (reply.type === 'refused') {
        this.front = this.front.filter((front) => front.until !== requestId);
        if (entry) this.history.push(entry);
        this.notices.toast('error', `Undo failed: ${reply.reason}`);
      }
    });
    if (!entry) return this.notices.announce('undo');
    for (const before of entry.before) {
      if (this.pendingItems.has(before.id)) {
        this.pendingItems.delete(before.id);
        if (entry.kind === 'label' || entry.kind === 'accept' || entry.kind === 'accept_page') this.pendingLabelCount--;
      }
      this.views.set(before.id, before);
    }
    if (entry.kind === 'accept_page') entry.restore?.undone();
    else if (!['caption', 'tags', 'edit_many', 'reject_vlm'].includes(entry.kind)) {
      this.front = [...entry.before.map((view) => ({ id: view.id, until: requestId, confirmed: false })), ...this.front];
    }
    this.notices.announce(`undone: ${entry.before.length === 1 ? shortName(entry.before[0]!) : `${entry.before.length} items`}`);
  }

  redo(): void {
    this.connection.send({ type: 'redo' }, (reply) => {
      if (reply.type === 'ack') {
        const views = reply.items ?? [];
        if (views.length === 0) return this.notices.toast('info', 'Nothing to redo.');
        const before = views.map((view) => this.views.get(view.id) ?? view);
        for (const view of views) this.views.set(view.id, view);
        const done = new Set(views.filter((view) => view.labelSource === 'human' || view.skipped || view.dontKnow).map((view) => view.id));
        this.serverQueue = this.serverQueue.filter((id) => !done.has(id));
        this.front = this.front.filter((entry) => !done.has(entry.id));
        this.history.push({ requestId: -1, kind: 'redo', before });
        this.onSaved();
      } else if (reply.type === 'refused') {
        this.notices.toast('error', `Redo failed: ${reply.reason}`);
      }
    });
    this.notices.announce('redo');
  }

  /** A refused action leaves the history: there is nothing to undo. */
  private forget(requestId: number): void {
    this.history = this.history.filter((entry) => entry.requestId !== requestId);
  }
}
