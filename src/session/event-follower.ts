import type { Store, StoredEvent } from '../store';

export interface FollowOptions {
  /** Milliseconds between looks at the log's high-water mark (default 500). */
  intervalMs?: number;
  /** Most events handed over per look: a bulk relabel elsewhere arrives in slices, not one long pause. */
  batch?: number;
  /** Where a failed look is reported; the next look tries again. */
  onError?: (error: unknown) => void;
}

/**
 * Follows the store's event log from its end as it stands now: every `intervalMs` it reads the high-water
 * mark (one index seek) and, when the log grew, hands the new events to `onEvents`, oldest first. Whoever
 * appended them — another process (the CLI, a notebook, a second server) or this one — they come here:
 * seqs are given under the write lock, so they grow in commit order and none can appear behind the mark.
 * The timer never keeps the process alive. Returns the function that stops following.
 *
 * @example
 * const stop = followEvents(store, (events) => console.log(events.length, 'new events'));
 */
export function followEvents(store: Store, onEvents: (events: StoredEvent[]) => void, options: FollowOptions = {}): () => void {
  const batch = options.batch ?? 2000;
  let mark = store.lastSeq();
  const look = () => {
    try {
      // A closed store ends the following: the timer would otherwise keep its host (and the host's learner)
      // from ever being collected, as in a kernel whose cell opened the dataset again.
      if (!store.isOpen) return clearInterval(timer);
      if (store.lastSeq() <= mark) return;
      const events = store.events({ sinceSeq: mark, limit: batch });
      if (events.length === 0) return;
      mark = events[events.length - 1]!.seq;
      onEvents(events);
    } catch (error) {
      options.onError?.(error);
    }
  };
  const timer = setInterval(look, options.intervalMs ?? 500);
  timer.unref();
  return () => clearInterval(timer);
}
