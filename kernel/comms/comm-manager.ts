import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '../engine';
import type { CommCloseContent, CommInfoReply, CommMsgContent, CommOpenContent, JupyterMessage } from '../protocol';
import { Comm, type CommMessage, type CommSink, type SendOptions } from './comm';

/** Called when a front end opens a comm to a registered target; set up listeners on `comm` here. */
export type CommTargetHandler = (comm: Comm, open: CommMessage) => void;

/**
 * The kernel's comms: targets that front ends may open comms to, the comms open now, and the handling of
 * comm_open, comm_msg, comm_close and comm_info_request (messaging spec, "Custom messages").
 */
export class CommManager {
  private readonly targets = new Map<string, CommTargetHandler>();
  private readonly comms = new Map<string, Comm>();

  constructor(private readonly sink: CommSink) {}

  /**
   * Lets front ends open comms to `name`. Returns a function that unregisters it; registering a name again
   * replaces its handler (so re-running a notebook cell works).
   */
  registerTarget(name: string, handler: CommTargetHandler): () => void {
    if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('quicksort kernel: a comm target needs a non-empty name');
    this.targets.set(name, handler);
    return () => {
      if (this.targets.get(name) === handler) this.targets.delete(name);
    };
  }

  /** Opens a comm from the kernel to a front-end target. */
  open(targetName: string, data: Record<string, unknown> = {}, options: SendOptions & { commId?: string } = {}): Comm {
    const comm = this.add(options.commId ?? randomUUID(), targetName);
    const content: CommOpenContent = { comm_id: comm.id, target_name: targetName, data };
    this.sink.publish('comm_open', content as unknown as Record<string, unknown>, options);
    return comm;
  }

  get(commId: string): Comm | undefined {
    return this.comms.get(commId);
  }

  /** The open comms, optionally of one target. */
  list(targetName?: string): Comm[] {
    return [...this.comms.values()].filter((comm) => targetName === undefined || comm.targetName === targetName);
  }

  /** Handles a comm_open from a front end: hands the new comm to its target, or closes it if none is registered. */
  handleOpen(message: JupyterMessage): void {
    const content = message.content as Partial<CommOpenContent>;
    if (typeof content.comm_id !== 'string' || typeof content.target_name !== 'string') {
      this.sink.log(`ignored a comm_open without comm_id or target_name (msg_id ${message.header.msg_id})`);
      return;
    }
    if (this.comms.has(content.comm_id)) {
      this.sink.log(`ignored a comm_open for comm ${content.comm_id}, which is already open`);
      return;
    }
    const handler = this.targets.get(content.target_name);
    const comm = this.add(content.comm_id, content.target_name);
    if (!handler) {
      // As ipykernel does: tell the front end at once that nobody is listening.
      this.sink.log(`no comm target ${JSON.stringify(content.target_name)} is registered; closing comm ${content.comm_id}`);
      comm.close();
      return;
    }
    try {
      handler(comm, toCommMessage(message, content.data));
    } catch (error) {
      this.sink.warn(`the handler of comm target ${JSON.stringify(content.target_name)} threw; closing comm ${content.comm_id}: ${describe(error)}`);
      comm.close();
    }
  }

  handleMessage(message: JupyterMessage): void {
    const content = message.content as Partial<CommMsgContent>;
    const comm = typeof content.comm_id === 'string' ? this.comms.get(content.comm_id) : undefined;
    if (!comm) {
      this.sink.log(`ignored a comm_msg for unknown comm ${JSON.stringify(content.comm_id)}`);
      return;
    }
    comm.receive(toCommMessage(message, content.data));
  }

  handleClose(message: JupyterMessage): void {
    const content = message.content as Partial<CommCloseContent>;
    const comm = typeof content.comm_id === 'string' ? this.comms.get(content.comm_id) : undefined;
    if (!comm) {
      this.sink.log(`ignored a comm_close for unknown comm ${JSON.stringify(content.comm_id)}`);
      return;
    }
    comm.receiveClose(toCommMessage(message, content.data));
  }

  /** The content of a comm_info_reply: the open comms, filtered by target when the request names one. */
  info(targetName?: string): CommInfoReply {
    const comms: CommInfoReply['comms'] = {};
    for (const comm of this.list(targetName)) comms[comm.id] = { target_name: comm.targetName };
    return { status: 'ok', comms };
  }

  /** Closes every comm (kernel shutdown). */
  closeAll(): void {
    for (const comm of [...this.comms.values()]) comm.close();
  }

  private add(id: string, targetName: string): Comm {
    const existing = this.comms.get(id);
    if (existing) throw new InvalidArgumentError(`quicksort kernel: comm id ${id} is already open (target ${existing.targetName})`);
    const comm = new Comm(id, targetName, this.sink, (closed) => {
      if (this.comms.get(closed.id) === closed) this.comms.delete(closed.id);
    });
    this.comms.set(id, comm);
    return comm;
  }
}

function toCommMessage(message: JupyterMessage, data: unknown): CommMessage {
  return {
    data: typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {},
    buffers: message.buffers,
    metadata: message.metadata,
    messageId: message.header.msg_id,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.stack ?? error.message : String(error);
}
