/** A socket that can send one message at a time (ZeroMQ.js v6 refuses a send while another is in flight). */
export interface SendingSocket {
  send(frames: Buffer[]): Promise<void>;
}

/**
 * Queues sends on one socket so that they never overlap and go out in the order they were asked for.
 * zeromq v6 throws EBUSY ("Socket is busy writing") on concurrent sends; every sender of the kernel goes
 * through one of these.
 */
export class SerialSender {
  private readonly queue: Buffer[][] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly socket: SendingSocket,
    private readonly onError: (error: unknown) => void,
  ) {}

  send(frames: Buffer[]): void {
    this.queue.push(frames);
    this.running ??= this.pump();
  }

  /** Resolves when everything queued so far has been handed to ZeroMQ. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  private async pump(): Promise<void> {
    try {
      for (let frames = this.queue.shift(); frames; frames = this.queue.shift()) {
        try {
          await this.socket.send(frames);
        } catch (error) {
          this.onError(error);
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
