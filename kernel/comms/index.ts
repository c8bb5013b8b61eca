/**
 * Jupyter comms for code in cells: register targets that front ends open comms to, and open comms from the
 * kernel (messaging spec, "Custom messages").
 *
 * @example
 * registerCommTarget('echo', (comm) => comm.onMessage(({ data, buffers }) => comm.send(data, { buffers })));
 * const comm = openComm('my.front.end.target', { hello: 'world' });
 */
import { Comm, type SendOptions } from './comm';
import type { CommTargetHandler } from './comm-manager';
import { currentRuntime } from './runtime';

export { Comm, type CommMessage, type CommSink, type SendOptions } from './comm';
export { CommManager, type CommTargetHandler } from './comm-manager';
export {
  createRuntime,
  currentRuntime,
  installRuntime,
  maybeRuntime,
  type BufferPath,
  type KernelRuntime,
  type PublishedMessageType,
  type SerializedState,
  type StatefulModel,
} from './runtime';

/** Lets front ends open comms to `name` in this kernel; returns a function that unregisters it. */
export function registerCommTarget(name: string, handler: CommTargetHandler): () => void {
  return currentRuntime().comms.registerTarget(name, handler);
}

/** Opens a comm from the kernel to the front-end target `targetName`. */
export function openComm(targetName: string, data: Record<string, unknown> = {}, options: SendOptions = {}): Comm {
  return currentRuntime().comms.open(targetName, data, options);
}
