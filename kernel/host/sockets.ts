import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Publisher, Router } from 'zeromq';
import { ProtocolError } from '../engine';
import { endpoint, type ConnectionInfo } from '../protocol';
import { SerialSender } from './serial-sender';

/**
 * The kernel's ZeroMQ sockets, bound to the ports of the connection file (messaging spec, "Introduction"):
 * ROUTER for shell, control and stdin, PUB for IOPub, and the heartbeat echo on a worker thread. Every
 * socket sends through a {@link SerialSender}.
 */
export class KernelSockets {
  readonly shell = new Router();
  readonly control = new Router();
  readonly stdin = new Router();
  readonly iopub = new Publisher();
  readonly send: Record<'shell' | 'control' | 'stdin' | 'iopub', SerialSender>;
  private heartbeat: Worker | undefined;

  private constructor(private readonly log: (message: string) => void) {
    const onError = (channel: string) => (error: unknown) => log(`could not send on ${channel}: ${error instanceof Error ? error.message : String(error)}`);
    this.send = {
      shell: new SerialSender(this.shell, onError('shell')),
      control: new SerialSender(this.control, onError('control')),
      stdin: new SerialSender(this.stdin, onError('stdin')),
      iopub: new SerialSender(this.iopub, onError('iopub')),
    };
    // Queue outgoing messages in ZeroMQ rather than drop them: big outputs and widget buffers must arrive.
    this.iopub.sendHighWaterMark = 0;
    for (const socket of [this.shell, this.control, this.stdin, this.iopub]) socket.linger = 1000;
  }

  static async bind(info: ConnectionInfo, log: (message: string) => void): Promise<KernelSockets> {
    const sockets = new KernelSockets(log);
    const bind = async (socket: Router | Publisher, port: number, name: string) => {
      try {
        await socket.bind(endpoint(info, port));
      } catch (cause) {
        throw new ProtocolError(`quicksort kernel: cannot bind the ${name} socket to ${endpoint(info, port)}; is another kernel using the port?`, { cause });
      }
    };
    await Promise.all([
      bind(sockets.shell, info.shell_port, 'shell'),
      bind(sockets.control, info.control_port, 'control'),
      bind(sockets.stdin, info.stdin_port, 'stdin'),
      bind(sockets.iopub, info.iopub_port, 'iopub'),
      sockets.startHeartbeat(endpoint(info, info.hb_port)),
    ]);
    return sockets;
  }

  private startHeartbeat(address: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(path.join(__dirname, 'heartbeat-worker.js'), { workerData: address });
      this.heartbeat = worker;
      worker.once('error', (error) => reject(new ProtocolError(`quicksort kernel: the heartbeat thread failed on ${address}`, { cause: error })));
      worker.on('message', (message) => {
        if (message === 'bound') resolve();
        else {
          this.log(`heartbeat: ${String(message)}`);
          reject(new ProtocolError(`quicksort kernel: cannot bind the heartbeat socket to ${address}: ${String(message)}`));
        }
      });
      worker.unref();
    });
  }

  /** Sends what is queued, then closes every socket and stops the heartbeat thread. */
  async close(): Promise<void> {
    await Promise.all(Object.values(this.send).map((sender) => sender.drain()));
    for (const socket of [this.shell, this.control, this.stdin, this.iopub]) socket.close();
    const heartbeat = this.heartbeat;
    this.heartbeat = undefined;
    if (heartbeat) {
      // Closing the socket inside its thread; terminating the thread under a live ZeroMQ socket aborts.
      const exited = new Promise<void>((resolve) => heartbeat.once('exit', () => resolve()));
      heartbeat.postMessage('close');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    }
  }
}
