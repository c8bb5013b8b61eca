import { ProtocolError } from '../engine';

/** One message received on a comm: its `data`, its binary buffers, and the Jupyter message around it. */
export interface CommMessage {
  data: Record<string, unknown>;
  buffers: Uint8Array[];
  metadata: Record<string, unknown>;
  /** `msg_id` of the carrying Jupyter message; replies to it are parented to it automatically. */
  messageId: string;
}

export interface SendOptions {
  buffers?: readonly Uint8Array[];
  metadata?: Record<string, unknown>;
}

/** Where a comm's outgoing messages go: the kernel's IOPub channel (or a recorder in tests). */
export interface CommSink {
  publish(msgType: 'comm_open' | 'comm_msg' | 'comm_close', content: Record<string, unknown>, options?: SendOptions): void;
  /** Notes for the kernel's log (the Jupyter server's console). */
  log(message: string): void;
  /** Problems the notebook user should see: the kernel log and the stderr of the current request. */
  warn(message: string): void;
}

type Listener<T> = (value: T) => void;

/**
 * One end of a Jupyter comm: a channel between kernel code and a front-end object, opened by either side
 * (messaging spec, "Custom messages"). Kernel → front end goes on IOPub, front end → kernel on shell.
 *
 * @example
 * const comm = openComm('my.target', { hello: 1 });
 * comm.onMessage(({ data, buffers }) => comm.send({ echo: data }, { buffers }));
 */
export class Comm {
  private closedFlag = false;
  private readonly messageListeners = new Set<Listener<CommMessage>>();
  private readonly closeListeners = new Set<Listener<CommMessage | undefined>>();

  /** @internal Created by {@link CommManager}; use `openComm` or a target handler. */
  constructor(
    readonly id: string,
    readonly targetName: string,
    private readonly sink: CommSink,
    private readonly forget: (comm: Comm) => void,
  ) {}

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Sends `data` (JSON) and optional binary buffers to the front end. */
  send(data: Record<string, unknown>, options: SendOptions = {}): void {
    if (this.closedFlag) throw new ProtocolError(`quicksort kernel: comm ${this.id} (${this.targetName}) is closed; open a new one to send`);
    this.sink.publish('comm_msg', { comm_id: this.id, data }, options);
  }

  /** Closes the comm on both sides. Safe to call twice. */
  close(data: Record<string, unknown> = {}, options: SendOptions = {}): void {
    if (this.closedFlag) return;
    this.sink.publish('comm_close', { comm_id: this.id, data }, options);
    this.finish(undefined);
  }

  /** Calls `listener` for each message from the front end, until the returned function or `signal` stops it. */
  onMessage(listener: Listener<CommMessage>, options: { signal?: AbortSignal } = {}): () => void {
    return subscribe(this.messageListeners, listener, options.signal);
  }

  /** Calls `listener` once when the comm closes, from either side (with the front end's message if it closed it). */
  onClose(listener: Listener<CommMessage | undefined>, options: { signal?: AbortSignal } = {}): () => void {
    return subscribe(this.closeListeners, listener, options.signal);
  }

  /** @internal A comm_msg from the front end. */
  receive(message: CommMessage): void {
    for (const listener of [...this.messageListeners]) this.call(listener, message, 'comm_msg');
  }

  /** @internal A comm_close from the front end. */
  receiveClose(message: CommMessage): void {
    this.finish(message);
  }

  private finish(message: CommMessage | undefined): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.forget(this);
    for (const listener of [...this.closeListeners]) this.call(listener, message, 'comm_close');
    this.messageListeners.clear();
    this.closeListeners.clear();
  }

  private call<T>(listener: Listener<T>, value: T, what: string): void {
    try {
      listener(value);
    } catch (error) {
      // A failing handler must not break the kernel's message loop (ipykernel logs and carries on too).
      this.sink.warn(`a ${what} handler of comm ${this.id} (${this.targetName}) threw: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    }
  }
}

function subscribe<T>(set: Set<Listener<T>>, listener: Listener<T>, signal: AbortSignal | undefined): () => void {
  if (signal?.aborted) return () => {};
  set.add(listener);
  const stop = () => {
    set.delete(listener);
    signal?.removeEventListener('abort', stop);
  };
  signal?.addEventListener('abort', stop, { once: true });
  return stop;
}
