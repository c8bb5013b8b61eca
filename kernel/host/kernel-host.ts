import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { createRuntime, installRuntime, type KernelRuntime, type SendOptions } from '../comms';
import { mimeBundleOf } from '../display';
import {
  createHeader,
  PROTOCOL_VERSION,
  WireCodec,
  type CompleteRequest,
  type ConnectionInfo,
  type ExecuteReply,
  type ExecuteRequest,
  type InspectRequest,
  type IsCompleteRequest,
  type JupyterMessage,
  type KernelInfoReply,
  type MessageHeader,
  type ParentHeader,
} from '../protocol';
import { Dataset } from '../engine';
import { labelingWidget, registerWidgetControl } from '../widgets';
import { CellExecutor, tslabTypeScriptVersion } from './cell-executor';
import { OutputCapture } from './output-capture';
import { packageInfo } from './package-root';
import { KernelSockets } from './sockets';

type RequestChannel = 'shell' | 'control';

/** How long a failed cell waits for requests already on their way before aborting the queue. */
const ABORT_DRAIN_MS = 20;

export interface KernelHostOptions {
  connection: ConnectionInfo;
  /** Where cells run and resolve relative imports: the notebook's folder (Jupyter starts kernels there). */
  folder?: string;
  /** The kernel's own log; stderr (the Jupyter server's console) by default. */
  log?: (message: string) => void;
}

/**
 * A Jupyter kernel for TypeScript: tslab compiles and runs cells; this host speaks the messaging protocol
 * (5.3) on ZeroMQ, with comms and the widget protocol that tslab lacks.
 *
 * Scheduling: execute_requests run one at a time, in order. Every other request — comm messages, completion,
 * kernel_info, interrupts on control — is handled as soon as it arrives, which is when the running cell
 * yields (awaits): a cell that awaits a widget's answer gets it. A cell that blocks holds everything, but
 * ZeroMQ keeps the messages queued and they are handled, in order, when it ends; the heartbeat answers on
 * its own thread meanwhile.
 */
export class KernelHost {
  private readonly session = randomUUID();
  private readonly codec: WireCodec;
  /** The request being handled, so that whatever it causes on IOPub is parented to it (spec "Parent header"). */
  private readonly parent = new AsyncLocalStorage<MessageHeader>();
  private lastExecute: ParentHeader = {};
  private executionCount = 0;
  private readonly executeQueue: JupyterMessage[] = [];
  private executing = false;
  private stopping: Promise<void> | undefined;
  private readonly output: OutputCapture;
  private readonly log: (message: string) => void;
  private readonly cells: CellExecutor;
  private readonly runtime: KernelRuntime;
  private readonly uninstallRuntime: () => void;
  private resolveStopped!: (restart: boolean) => void;
  /** Resolves, with whether a restart was asked for, once the kernel has shut down. */
  readonly stopped = new Promise<boolean>((resolve) => (this.resolveStopped = resolve));

  private constructor(
    private readonly sockets: KernelSockets,
    options: KernelHostOptions,
    log: (message: string) => void,
  ) {
    this.codec = new WireCodec({ key: options.connection.key, signatureScheme: options.connection.signature_scheme });
    this.log = log;
    this.output = new OutputCapture(
      (name, text, parent) => this.publish('stream', { name, text }, { parent }),
      () => this.currentParent(),
    );
    this.cells = new CellExecutor(options.folder ?? process.cwd(), log);
    this.runtime = createRuntime(
      (msgType, content, sendOptions) => this.publish(msgType, content, sendOptions),
      log,
      (message) => {
        log(message);
        this.publish('stream', { name: 'stderr', text: `quicksort kernel: ${message}\n` });
      },
    );
    registerWidgetControl(this.runtime);
    this.uninstallRuntime = installRuntime(this.runtime);
    // Cells share this engine (module-resolution.ts), so their ds.widget() makes this kernel's widget.
    Dataset.provideWidget(labelingWidget);
  }

  /** Binds the sockets, announces `starting`, and serves until shut down. */
  static async start(options: KernelHostOptions): Promise<KernelHost> {
    // Bound now: once cells' output is captured, process.stderr.write goes to the front end instead.
    const write = process.stderr.write.bind(process.stderr);
    const log = options.log ?? ((message: string) => void write(`quicksort kernel: ${message}\n`));
    const sockets = await KernelSockets.bind(options.connection, log);
    const host = new KernelHost(sockets, options, log);
    host.installTslabDisplay();
    host.publish('status', { execution_state: 'starting' }, { parent: {} });
    void host.serve('shell');
    void host.serve('control');
    return host;
  }

  /** Redirects process.stdout/stderr to IOPub; returns the original stderr writer for the kernel's log. */
  captureOutput(): (text: string) => void {
    return this.output.install();
  }

  /** Builds the TypeScript compiler now rather than on the first cell. */
  warm(): void {
    this.cells.warm();
  }

  /** Interrupts the running cell if it is awaiting (SIGINT interrupts synchronous code by itself). */
  interrupt(): void {
    this.cells.interrupt();
  }

  /** Reports an error no cell caught (an unhandled rejection, an exception in a callback). */
  reportUncaught(kind: string, error: unknown): void {
    const text = error instanceof Error ? error.stack ?? error.message : String(error);
    this.log(`${kind}: ${text}`);
    this.publish('stream', { name: 'stderr', text: `${kind}: ${text}\n` });
  }

  /** Stops serving, closes the sockets after sending what is queued, and releases the compiler. */
  shutdown(restart = false): Promise<void> {
    this.stopping ??= (async () => {
      this.output.uninstall();
      await this.sockets.close();
      this.cells.close();
      this.uninstallRuntime();
      this.resolveStopped(restart);
    })();
    return this.stopping;
  }

  private async serve(channel: RequestChannel): Promise<void> {
    const socket = channel === 'shell' ? this.sockets.shell : this.sockets.control;
    try {
      for await (const frames of socket) this.receive(channel, frames);
    } catch (error) {
      if (!this.stopping) this.log(`the ${channel} channel stopped: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private receive(channel: RequestChannel, frames: Buffer[]): void {
    let message: JupyterMessage;
    try {
      message = this.codec.decode(frames);
    } catch (error) {
      // Messages that fail verification are dropped unanswered (an answer would be signed for a stranger).
      this.log(`rejected a ${channel} message: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (this.stopping) return;
    if (message.header.msg_type === 'execute_request' && channel === 'shell') {
      this.executeQueue.push(message);
      void this.runQueue();
      return;
    }
    void this.withStatus(message, () => this.handle(channel, message));
  }

  /** Runs `work` between busy and idle statuses parented to `message`, with it as the parent of all output. */
  private async withStatus(message: JupyterMessage, work: () => unknown): Promise<void> {
    this.publish('status', { execution_state: 'busy' }, { parent: message.header });
    try {
      await this.parent.run(message.header, work);
    } catch (error) {
      this.log(`failed to handle ${message.header.msg_type}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    } finally {
      this.output.flush();
      this.publish('status', { execution_state: 'idle' }, { parent: message.header });
    }
  }

  private handle(channel: RequestChannel, message: JupyterMessage): void | Promise<void> {
    const content = message.content;
    switch (message.header.msg_type) {
      case 'kernel_info_request':
        return this.reply(channel, message, 'kernel_info_reply', this.kernelInfo());
      case 'complete_request':
        return this.reply(channel, message, 'complete_reply', this.complete(content as unknown as CompleteRequest));
      case 'inspect_request':
        return this.reply(channel, message, 'inspect_reply', this.inspect(content as unknown as InspectRequest));
      case 'is_complete_request':
        return this.reply(channel, message, 'is_complete_reply', this.cells.isComplete(String((content as unknown as IsCompleteRequest).code ?? '')));
      case 'history_request':
        return this.reply(channel, message, 'history_reply', { status: 'ok', history: [] });
      case 'comm_info_request': {
        const target = typeof content.target_name === 'string' ? content.target_name : undefined;
        return this.reply(channel, message, 'comm_info_reply', this.runtime.comms.info(target));
      }
      case 'comm_open':
        return this.runtime.comms.handleOpen(message);
      case 'comm_msg':
        return this.runtime.comms.handleMessage(message);
      case 'comm_close':
        return this.runtime.comms.handleClose(message);
      case 'interrupt_request':
        // interrupt_mode "message" (spec "Kernel interrupt"); with "signal" SIGINT does the same.
        this.interrupt();
        return this.reply(channel, message, 'interrupt_reply', { status: 'ok' });
      case 'shutdown_request': {
        // The server restarts a kernel by shutting it down and starting a new process (spec "Kernel shutdown").
        const restart = content.restart === true;
        this.reply(channel, message, 'shutdown_reply', { status: 'ok', restart });
        setImmediate(() => void this.shutdown(restart));
        return;
      }
      case 'execute_request':
        // Only shell runs code; on control it would jump the queue.
        this.log('ignored an execute_request on the control channel');
        return;
      default:
        this.log(`ignored a ${message.header.msg_type} on ${channel}: not a message type this kernel handles`);
    }
  }

  private async runQueue(): Promise<void> {
    if (this.executing) return;
    this.executing = true;
    try {
      for (let message = this.executeQueue.shift(); message && !this.stopping; message = this.executeQueue.shift()) {
        const request = message;
        await this.withStatus(request, () => this.execute(request));
      }
    } finally {
      this.executing = false;
    }
  }

  private async execute(message: JupyterMessage): Promise<void> {
    const request = message.content as unknown as ExecuteRequest;
    const code = typeof request.code === 'string' ? request.code : '';
    const silent = request.silent === true;
    if (!silent && request.store_history !== false) this.executionCount++;
    const count = this.executionCount;
    this.lastExecute = message.header;
    if (!silent) this.publish('execute_input', { code, execution_count: count });

    const outcome = await this.cells.execute(code);
    this.output.flush();
    let reply: ExecuteReply;
    let aborted: JupyterMessage[] = [];
    if (outcome.status === 'ok') {
      if (outcome.hasValue && !silent) {
        try {
          const data = await mimeBundleOf(outcome.value);
          this.publish('execute_result', { execution_count: count, data, metadata: {} });
        } catch (error) {
          this.runtime.warn(`the value of the cell could not be shown: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      reply = { status: 'ok', execution_count: count, payload: [], user_expressions: {} };
    } else {
      this.publish('error', { ...outcome.error });
      reply = { status: 'error', execution_count: count, ...outcome.error };
      if (request.stop_on_error !== false) {
        // Requests sent before this reply (Run All) may still sit in ZeroMQ's queue: let the shell loop
        // pull them in before aborting, as ipykernel aborts whatever it has received by then. Nothing sent
        // after the reply can be caught, since the reply is not out yet.
        await new Promise((resolve) => setTimeout(resolve, ABORT_DRAIN_MS));
        aborted = this.executeQueue.splice(0);
      }
    }
    this.reply('shell', message, 'execute_reply', reply);
    // The cells queued behind a failed one are not run (execute_request's stop_on_error), as ipykernel does.
    for (const queued of aborted) {
      void this.withStatus(queued, () => this.reply('shell', queued, 'execute_reply', { status: 'aborted', execution_count: null }));
    }
  }

  private kernelInfo(): KernelInfoReply {
    const { version } = packageInfo();
    return {
      status: 'ok',
      protocol_version: PROTOCOL_VERSION,
      implementation: 'quicksort',
      implementation_version: version,
      language_info: {
        name: 'typescript',
        version: tslabTypeScriptVersion(),
        mimetype: 'text/typescript',
        file_extension: '.ts',
        // Classic Notebook and JupyterLab pick TypeScript highlighting from these (tslab found this pair).
        codemirror_mode: { name: 'javascript', typescript: true },
        pygments_lexer: 'typescript',
      },
      banner: `QuickSort kernel ${version}: TypeScript ${tslabTypeScriptVersion()} on Node ${process.version}, with comms and widgets`,
      help_links: [],
      debugger: false,
    };
  }

  private complete(request: CompleteRequest): Record<string, unknown> {
    const code = String(request.code ?? '');
    const offset = codePointsToUtf16(code, Number(request.cursor_pos ?? code.length));
    const { matches, start, end } = this.cells.complete(code, offset);
    return { status: 'ok', matches, cursor_start: utf16ToCodePoints(code, start), cursor_end: utf16ToCodePoints(code, end), metadata: {} };
  }

  private inspect(request: InspectRequest): Record<string, unknown> {
    const code = String(request.code ?? '');
    const text = this.cells.inspect(code, codePointsToUtf16(code, Number(request.cursor_pos ?? code.length)));
    return text === undefined ? { status: 'ok', found: false, data: {}, metadata: {} } : { status: 'ok', found: true, data: { 'text/plain': text }, metadata: {} };
  }

  private reply(channel: RequestChannel, request: JupyterMessage, msgType: string, content: object, buffers?: readonly Uint8Array[]): void {
    const frames = this.codec.encode({
      identities: request.identities,
      header: createHeader(msgType, this.session),
      parent_header: request.header,
      metadata: {},
      content,
      buffers,
    });
    this.sockets.send[channel].send(frames);
  }

  private currentParent(): ParentHeader {
    return this.parent.getStore() ?? this.lastExecute;
  }

  /** Publishes on IOPub, parented to the request being handled unless told otherwise. */
  private publish(msgType: string, content: object, options: SendOptions & { parent?: ParentHeader } = {}): void {
    if (msgType !== 'stream') this.output.flush();
    const frames = this.codec.encode({
      // The IOPub topic; clients subscribe to everything, it only helps filtering.
      identities: [Buffer.from(`kernel.${this.session}.${msgType}`)],
      header: createHeader(msgType, this.session),
      parent_header: options.parent ?? this.currentParent(),
      metadata: options.metadata ?? {},
      content,
      buffers: options.buffers,
    });
    this.sockets.send.iopub.send(frames);
  }

  /** tslab's own `display` API (`import * as tslab from "tslab"`) writes through this process-wide hook. */
  private installTslabDisplay(): void {
    const tslabJupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };
    tslabJupyter.lastWriteDisplayData = (data: object, update: boolean) => this.publish(update ? 'update_display_data' : 'display_data', data);
  }
}

/** Jupyter counts cursor positions in Unicode code points (protocol 5.2+); JavaScript strings in UTF-16 units. */
export function codePointsToUtf16(text: string, codePoints: number): number {
  let offset = 0;
  for (let seen = 0; seen < codePoints && offset < text.length; seen++) offset += text.codePointAt(offset)! > 0xffff ? 2 : 1;
  return offset;
}

export function utf16ToCodePoints(text: string, offset: number): number {
  let codePoints = 0;
  for (let index = 0; index < offset && index < text.length; codePoints++) index += text.codePointAt(index)! > 0xffff ? 2 : 1;
  return codePoints;
}
