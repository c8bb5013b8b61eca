import type { ServerMessage } from '../../../src/session/protocol';
import type { Incoming, LinkState, Request, SessionConnection } from './session-client';

export type Welcome = Extract<ServerMessage, { type: 'welcome' }>;

/**
 * The app's end of the session: whether it is connected, as whom, to which dataset, and the requests on their
 * way. Every reply is followed by `changed`, so the part that asked only has to update its own state.
 */
export class Connection {
  private state: 'connecting' | 'ready' = 'connecting';
  private who = '';
  private datasetName = '';
  private inflight = 0;
  private linkState: LinkState = 'connected';

  constructor(
    private readonly transport: SessionConnection,
    private readonly changed: () => void,
  ) {}

  get status(): 'connecting' | 'ready' {
    return this.state;
  }

  get user(): string {
    return this.who;
  }

  get dataset(): string {
    return this.datasetName;
  }

  /** The link to the engine: `reconnecting` or `offline` while the standalone page's socket is lost. */
  get link(): LinkState {
    return this.linkState;
  }

  /** Actions sent and not yet answered (while the link is lost: not yet sent, or sent and unanswered). */
  get pending(): number {
    return this.inflight;
  }

  /**
   * Says hello; `onAnswer` hears the welcome (once this is ready) or the refusal. After a reconnect the
   * transport says hello again with `again()` (where the app is now: its user, its current item) and the same
   * `onAnswer`, before it sends again the actions that had no answer.
   */
  hello(request: Extract<Request, { type: 'hello' }>, onAnswer: (message: ServerMessage) => void, again: () => Extract<Request, { type: 'hello' }> = () => request): void {
    const answered = (message: ServerMessage) => {
      if (message.type === 'welcome') {
        this.state = 'ready';
        this.who = message.user;
        this.datasetName = message.dataset;
      }
      onAnswer(message);
    };
    this.transport.onLink?.(
      (state) => {
        this.linkState = state;
        this.changed();
      },
      () => ({ message: again(), onReply: ({ message }) => {
        answered(message);
        this.changed();
      } }),
    );
    this.ask(request, answered);
  }

  /** An action: counted in flight until its reply. Returns its request id. */
  send(message: Request, onReply: (reply: ServerMessage) => void): number {
    this.inflight++;
    return this.ask(message, (reply) => {
      this.inflight--;
      onReply(reply);
    });
  }

  /** A question (stats, neighbours, a browse window): nothing waits on it being saved. */
  ask(message: Request, onReply: (reply: ServerMessage) => void): number {
    return this.transport.request(message, ({ message: reply }) => {
      onReply(reply);
      this.changed();
    });
  }

  /** What the engine sends unasked (queues, classes, items, stats, progress). */
  onPush(handler: (incoming: Incoming) => void): void {
    this.transport.onPush(handler);
  }
}
