import { CaptionFold } from './caption-fold';
import type { ActionSource, CaptionSource, EventKind, ItemState } from './types';

export const EMPTY_STATE: Readonly<ItemState> = Object.freeze({
  label: null,
  labelSource: null,
  confidence: null,
  labeledBy: null,
  skipped: false,
  dontKnow: false,
  caption: null,
  captions: [],
  tags: [],
  deleted: false,
  version: 0,
});

/** The part of an event that the fold needs. */
export interface FoldableEvent {
  seq: number;
  kind: EventKind;
  payload: Record<string, unknown>;
  user: string;
  source: ActionSource;
  confidence: number | null;
  time: number;
  undone: boolean;
}

/**
 * Derives an item's state from all of its events, oldest first; undone events and the undo/redo markers
 * only advance the version. Pure, so the derived `item_state` table can always be rebuilt and checked
 * against the log.
 *
 * A model's or VLM's label never overrides a person's: people are the ground truth.
 */
export function foldItemState(events: Iterable<FoldableEvent>): ItemState {
  const state: ItemState = { ...EMPTY_STATE, captions: [], tags: [] };
  const captions = new CaptionFold();
  for (const event of events) {
    state.version = Math.max(state.version, event.seq);
    if (event.undone) continue;
    switch (event.kind) {
      case 'label':
        if (event.source !== 'human' && state.labelSource === 'human') break;
        state.label = String(event.payload.label);
        state.labelSource = event.source;
        state.confidence = event.confidence;
        state.labeledBy = event.user;
        state.skipped = false;
        state.dontKnow = false;
        break;
      case 'unlabel':
        state.label = null;
        state.labelSource = null;
        state.confidence = null;
        state.labeledBy = null;
        break;
      case 'skip':
        state.skipped = true;
        break;
      case 'dont_know':
        // "Don't know" withdraws any label: such items are never training data or suggestions.
        state.dontKnow = true;
        state.skipped = false;
        state.label = null;
        state.labelSource = null;
        state.confidence = null;
        state.labeledBy = null;
        break;
      case 'caption':
        captions.setOwn((event.payload.caption as string | null) ?? null, event.source, event.user, event.time);
        break;
      case 'add_caption':
        captions.add(String(event.payload.caption), captionSource(event), captionAuthor(event), event.time);
        break;
      case 'remove_caption':
        captions.remove(String(event.payload.caption), event.payload.source as CaptionSource | undefined, event.payload.author as string | undefined);
        break;
      case 'tags':
        state.tags = [...((event.payload.tags as string[]) ?? [])];
        break;
      case 'delete':
        state.deleted = true;
        break;
      case 'restore':
        state.deleted = false;
        break;
      case 'undo':
      case 'redo':
        break;
    }
  }
  Object.assign(state, captions.finish());
  return state;
}

function captionSource(event: FoldableEvent): CaptionSource {
  return (event.payload.source as CaptionSource | undefined) ?? event.source;
}

function captionAuthor(event: FoldableEvent): string {
  return (event.payload.author as string | undefined) ?? event.user;
}
