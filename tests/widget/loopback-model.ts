import { LabelingSession, type Envelope, type ServerMessage, type SessionHost } from '../../src/session';
import type { AfmModel } from '../../widget/src/afm/model';

/**
 * An AFM model whose custom messages go straight to a real LabelingSession: the app's state tested against
 * the engine without a browser. Replies can be held back (`hold`), to see what the app shows before the
 * engine answers (optimistic) and after (confirmed, or rolled back).
 */
export class LoopbackModel implements AfmModel {
  private readonly listeners = new Set<(content: unknown, buffers: DataView[]) => void>();
  private readonly held: Envelope<ServerMessage>[] = [];
  private pending: Promise<void>[] = [];
  hold = false;
  readonly state: Record<string, unknown> = {};
  session!: LabelingSession;

  attach(host: SessionHost, user: string): void {
    this.session = new LabelingSession(host, (envelope) => (this.hold ? this.held.push(envelope) : this.deliver(envelope)), { user, prefetch: 4 });
  }
  get(key: string) {
    return this.state[key];
  }
  set(key: string, value: unknown) {
    this.state[key] = value;
  }
  on(_event: string, callback: (content: unknown, buffers: DataView[]) => void) {
    this.listeners.add(callback);
  }
  off(_event?: string | null, callback?: ((content: unknown, buffers: DataView[]) => void) | null) {
    if (callback) this.listeners.delete(callback);
  }
  save_changes() {}
  /** Handled on the next microtask: like every real transport, a reply never arrives inside the request call. */
  send(content: unknown) {
    const message = JSON.parse(JSON.stringify(content));
    this.pending.push(Promise.resolve().then(() => this.session.handle(message)));
  }
  /** Lets the engine finish what it was sent, then delivers what it said. */
  async settle(): Promise<void> {
    while (this.pending.length > 0) {
      const pending = this.pending;
      this.pending = [];
      await Promise.all(pending);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  async release(): Promise<void> {
    await this.settle();
    this.hold = false;
    for (const envelope of this.held.splice(0)) this.deliver(envelope);
    await this.settle();
  }
  private deliver({ message, buffers = [] }: Envelope<ServerMessage>) {
    for (const listener of this.listeners) listener(message, buffers.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength)));
  }
}

