import { LabelingSession, type Envelope, type ServerMessage, type SessionHost } from '../../src/session';

export type Message<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

/** A client of one session: everything it receives, and a wait for the first message that matches. */
export class SessionTestClient {
  readonly inbox: ServerMessage[] = [];
  readonly session: LabelingSession;
  private nextId = 1;
  private readonly waiters = new Set<{ match: (message: ServerMessage) => boolean; resolve: (message: ServerMessage) => void }>();
  constructor(host: SessionHost, user: string) {
    this.session = new LabelingSession(host, (envelope: Envelope<ServerMessage>) => this.receive(envelope.message), { user, prefetch: 2 });
  }
  private receive(message: ServerMessage): void {
    this.inbox.push(message);
    for (const waiter of [...this.waiters]) {
      if (!waiter.match(message)) continue;
      this.waiters.delete(waiter);
      waiter.resolve(message);
    }
  }
  /** The reply to a request (its `ack`, `refused` or answer). */
  async send(message: Record<string, unknown>): Promise<ServerMessage> {
    const requestId = this.nextId++;
    const before = this.inbox.length;
    await this.session.handle({ requestId, ...message });
    return this.inbox.slice(before).find((m) => (m as { requestId?: number }).requestId === requestId)!;
  }
  /** The first message from now on that matches (or one already received, with `seen`); the test's timeout bounds the wait. */
  next(match: (message: ServerMessage) => boolean, seen = false): Promise<ServerMessage> {
    const already = seen ? this.inbox.find(match) : undefined;
    if (already) return Promise.resolve(already);
    return new Promise((resolve) => this.waiters.add({ match, resolve }));
  }
}
