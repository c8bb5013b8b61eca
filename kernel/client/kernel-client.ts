import { randomUUID } from 'node:crypto';
import { Dealer, Request, Subscriber } from 'zeromq';
import { ProtocolError } from '../engine';
import { createHeader, endpoint, WireCodec, type ConnectionInfo, type JupyterMessage, type MessageHeader } from '../protocol';
import { SerialSender } from '../host/serial-sender';

export interface SendOptions {
  buffers?: readonly Uint8Array[];
  metadata?: Record<string, unknown>;
}

/** What one execute_request produced: its reply and the IOPub messages parented to it, up to `idle`. */
export interface Execution {
  reply: JupyterMessage;
  /** IOPub messages parented to the request, in order, from `busy` to `idle` inclusive. */
  messages: JupyterMessage[];
  /** Text written to stdout and stderr. */
  stdout: string;
  stderr: string;
  /** `text/plain` of the execute_result, if any. */
  result?: string;
  /** The `error` message content, if the cell failed. */
  error?: { ename: string; evalue: string; traceback: string[] };
  /** display_data contents. */
  displays: { data: Record<string, unknown>; metadata: Record<string, unknown> }[];
}

type IopubListener = (message: JupyterMessage) => void;

/**
 * A Jupyter client over ZeroMQ, as a Jupyter server or nbclient would be: DEALER sockets on shell, control
 * and stdin, SUB on IOPub, REQ on the heartbeat; every message signed with the connection key and every
 * received message verified. Used by the kernel's tests and benchmark.
 *
 * @example
 * const client = await KernelClient.connect(connection);
 * const run = await client.execute('1 + 1');
 * run.result; // "2"
 */
export class KernelClient {
  readonly session = randomUUID();
  private readonly codec: WireCodec;
  private readonly shell = new Dealer();
  private readonly control = new Dealer();
  private readonly stdin = new Dealer();
  private readonly iopub = new Subscriber();
  private readonly senders: Record<'shell' | 'control' | 'stdin', SerialSender>;
  private readonly pendingReplies = new Map<string, { resolve: (message: JupyterMessage) => void; reject: (error: Error) => void }>();
  private readonly iopubListeners = new Set<IopubListener>();
  private closed = false;
  /** ZeroMQ's pending receives do not keep Node's event loop alive; the client does while it is open. */
  private readonly keepAlive = setInterval(() => {}, 1 << 30);
  /** Messages that failed verification, with the reason; a correct kernel leaves this empty. */
  readonly rejected: string[] = [];

  private constructor(private readonly connection: ConnectionInfo) {
    this.codec = new WireCodec({ key: connection.key, signatureScheme: connection.signature_scheme });
    // Jupyter clients use the session as their routing identity, so the kernel can address stdin requests.
    this.shell.routingId = this.session;
    this.stdin.routingId = this.session;
    for (const socket of [this.shell, this.control, this.stdin, this.iopub]) socket.linger = 0;
    this.iopub.receiveHighWaterMark = 0;
    const onError = (error: unknown) => this.rejected.push(`send failed: ${error instanceof Error ? error.message : String(error)}`);
    this.senders = { shell: new SerialSender(this.shell, onError), control: new SerialSender(this.control, onError), stdin: new SerialSender(this.stdin, onError) };
  }

  /**
   * Connects, then sends kernel_info_request until IOPub delivers (a SUB socket misses what is published
   * before its subscription is in place — jupyter_client's wait_for_ready does the same).
   */
  static async connect(connection: ConnectionInfo, options: { timeoutMs?: number } = {}): Promise<KernelClient> {
    const client = new KernelClient(connection);
    client.shell.connect(endpoint(connection, connection.shell_port));
    client.control.connect(endpoint(connection, connection.control_port));
    client.stdin.connect(endpoint(connection, connection.stdin_port));
    client.iopub.connect(endpoint(connection, connection.iopub_port));
    client.iopub.subscribe();
    void client.readReplies(client.shell);
    void client.readReplies(client.control);
    void client.readIopub();
    const deadline = Date.now() + (options.timeoutMs ?? 30000);
    for (;;) {
      const seen = client.nextIopub((message) => message.header.msg_type === 'status', 500).then(
        () => true,
        () => false,
      );
      const reply = client.request('shell', 'kernel_info_request', {}, {}, Math.max(1000, deadline - Date.now())).catch(() => undefined);
      if ((await seen) && (await reply)) return client;
      if (Date.now() > deadline) {
        client.close();
        throw new ProtocolError(`quicksort kernel client: no answer from the kernel at ${endpoint(connection, connection.shell_port)} within ${options.timeoutMs ?? 30000} ms`);
      }
    }
  }

  /** Sends a request and resolves with its reply (matched by parent msg_id). */
  request(channel: 'shell' | 'control', msgType: string, content: object, options: SendOptions = {}, timeoutMs = 60000): Promise<JupyterMessage> {
    const header = this.send(channel, msgType, content, options);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingReplies.delete(header.msg_id);
        reject(new ProtocolError(`quicksort kernel client: no ${msgType.replace(/_request$/, '_reply')} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pendingReplies.set(header.msg_id, {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  /** Sends a message without waiting for anything; returns its header. */
  send(channel: 'shell' | 'control' | 'stdin', msgType: string, content: object, options: SendOptions = {}): MessageHeader {
    const header = createHeader(msgType, this.session, 'quicksort-client');
    this.sendRaw(channel, this.codec.encode({ identities: [], header, parent_header: {}, metadata: options.metadata ?? {}, content, buffers: options.buffers }));
    return header;
  }

  /** Sends frames as they are (tests use it to send a message with a wrong signature). */
  sendRaw(channel: 'shell' | 'control' | 'stdin', frames: Buffer[]): void {
    this.senders[channel].send(frames);
  }

  /** Encodes a message the way {@link send} would, without sending it. */
  encode(msgType: string, content: object, options: SendOptions = {}): { header: MessageHeader; frames: Buffer[] } {
    const header = createHeader(msgType, this.session, 'quicksort-client');
    return { header, frames: this.codec.encode({ identities: [], header, parent_header: {}, metadata: options.metadata ?? {}, content, buffers: options.buffers }) };
  }

  /** Calls `listener` for every IOPub message until the returned function is called. */
  onIopub(listener: IopubListener): () => void {
    this.iopubListeners.add(listener);
    return () => this.iopubListeners.delete(listener);
  }

  /** The next IOPub message that matches. */
  nextIopub(predicate: (message: JupyterMessage) => boolean, timeoutMs = 30000): Promise<JupyterMessage> {
    return new Promise((resolve, reject) => {
      const stop = this.onIopub((message) => {
        if (!predicate(message)) return;
        stop();
        clearTimeout(timer);
        resolve(message);
      });
      const timer = setTimeout(() => {
        stop();
        reject(new ProtocolError(`quicksort kernel client: no matching IOPub message within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
    });
  }

  /** Runs a cell; resolves when its reply and its `idle` status have both arrived. */
  async execute(code: string, content: Record<string, unknown> = {}, timeoutMs = 60000): Promise<Execution> {
    const { header, frames } = this.encode('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true, ...content });
    const messages: JupyterMessage[] = [];
    const idle = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new ProtocolError(`quicksort kernel client: the cell did not finish within ${timeoutMs} ms: ${code.slice(0, 80)}`));
      }, timeoutMs);
      const stop = this.onIopub((message) => {
        if ((message.parent_header as Partial<MessageHeader>).msg_id !== header.msg_id) return;
        messages.push(message);
        if (message.header.msg_type === 'status' && (message.content as { execution_state?: string }).execution_state === 'idle') {
          stop();
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const reply = new Promise<JupyterMessage>((resolve, reject) => this.pendingReplies.set(header.msg_id, { resolve, reject }));
    this.sendRaw('shell', frames);
    const [replyMessage] = await Promise.all([reply, idle]);
    const text = (name: string) =>
      messages
        .filter((m) => m.header.msg_type === 'stream' && (m.content as { name?: string }).name === name)
        .map((m) => String((m.content as { text?: string }).text ?? ''))
        .join('');
    const result = messages.find((m) => m.header.msg_type === 'execute_result');
    const error = messages.find((m) => m.header.msg_type === 'error');
    return {
      reply: replyMessage,
      messages,
      stdout: text('stdout'),
      stderr: text('stderr'),
      result: result ? String((result.content as { data: Record<string, unknown> }).data['text/plain'] ?? '') : undefined,
      error: error ? (error.content as Execution['error']) : undefined,
      displays: messages.filter((m) => m.header.msg_type === 'display_data').map((m) => m.content as Execution['displays'][number]),
    };
  }

  /** One heartbeat round trip; false if no echo within the timeout. */
  async heartbeat(timeoutMs = 2000): Promise<boolean> {
    const socket = new Request();
    socket.receiveTimeout = timeoutMs;
    socket.linger = 0;
    socket.connect(endpoint(this.connection, this.connection.hb_port));
    try {
      const ping = Buffer.from(randomUUID());
      await socket.send(ping);
      const [echo] = await socket.receive();
      return echo !== undefined && echo.equals(ping);
    } catch {
      return false;
    } finally {
      socket.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAlive);
    for (const pending of this.pendingReplies.values()) pending.reject(new ProtocolError('quicksort kernel client: closed before the reply arrived'));
    this.pendingReplies.clear();
    for (const socket of [this.shell, this.control, this.stdin, this.iopub]) socket.close();
  }

  private async readReplies(socket: Dealer): Promise<void> {
    try {
      for await (const frames of socket) {
        const message = this.decode(frames);
        const parentId = message && (message.parent_header as Partial<MessageHeader>).msg_id;
        const pending = parentId ? this.pendingReplies.get(parentId) : undefined;
        if (pending && parentId) {
          this.pendingReplies.delete(parentId);
          pending.resolve(message!);
        }
      }
    } catch {
      // closed
    }
  }

  private async readIopub(): Promise<void> {
    try {
      for await (const frames of this.iopub) {
        const message = this.decode(frames);
        if (message) for (const listener of [...this.iopubListeners]) listener(message);
      }
    } catch {
      // closed
    }
  }

  private decode(frames: Buffer[]): JupyterMessage | undefined {
    try {
      return this.codec.decode(frames);
    } catch (error) {
      this.rejected.push(error instanceof Error ? error.message : String(error));
      return undefined;
    }
  }
}
