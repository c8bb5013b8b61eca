import type { ItemView } from '../../../src/session/protocol';

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

export interface TaskProgress {
  done: number;
  total: number;
}

const TOAST_MS = { info: 4000, error: 9000 };

/**
 * What the app tells the person besides the items: toasts that go by themselves, one sentence for screen
 * readers about the last thing done, and the engine's long tasks under way. `changed` is called when a toast
 * goes; every other change is made inside an action or a reply, after which the app updates anyway.
 */
export class Notices {
  private shown: Toast[] = [];
  private nextToastId = 1;
  private said = '';
  private readonly tasks = new Map<string, TaskProgress>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly changed: () => void) {}

  get toasts(): readonly Toast[] {
    return this.shown;
  }

  get announcement(): string {
    return this.said;
  }

  get progress(): ReadonlyMap<string, TaskProgress> {
    return this.tasks;
  }

  /** Shows a message for a while (errors longer); at most four at a time, the oldest go first. */
  toast(kind: Toast['kind'], text: string): void {
    const toast = { id: this.nextToastId++, kind, text };
    this.shown = [...this.shown.slice(-3), toast];
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.dismiss(toast.id);
    }, TOAST_MS[kind]);
    this.timers.add(timer);
  }

  /** Takes a toast away (the person's click, or its time is up). */
  dismiss(id: number): void {
    const before = this.shown.length;
    this.shown = this.shown.filter((toast) => toast.id !== id);
    if (this.shown.length !== before) this.changed();
  }

  announce(text: string): void {
    this.said = text;
  }

  /** The engine's word on a long task: shown until it is done. */
  taskProgress(task: string, done: number, total: number): void {
    if (done >= total) this.tasks.delete(task);
    else this.tasks.set(task, { done, total });
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

/** An item as a person reads it in a message: its file name. */
export function shortName(item: ItemView): string {
  return item.uri.split('/').pop() ?? `item ${item.id}`;
}
