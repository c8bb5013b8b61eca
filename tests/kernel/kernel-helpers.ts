import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KernelClient, startKernelProcess, type KernelProcess } from '../../dist/kernel/client';
import type { JupyterMessage, MessageHeader } from '../../dist/kernel/protocol';

export interface RunningKernel {
  kernel: KernelProcess;
  client: KernelClient;
  /** The notebook folder the kernel runs in (its cwd). */
  folder: string;
  stop(): Promise<void>;
}

/** Starts the real kernel process (dist/kernel/main.js) in a fresh folder and connects a client to it. */
export async function startKernel(): Promise<RunningKernel> {
  const folder = mkdtempSync(path.join(tmpdir(), 'quicksort-kernel-test-'));
  const kernel = await startKernelProcess({ cwd: folder });
  let client: KernelClient;
  try {
    client = await KernelClient.connect(kernel.connection);
  } catch (error) {
    await kernel.kill();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nkernel log:\n${kernel.log()}`);
  }
  return {
    kernel,
    client,
    folder,
    async stop() {
      client.close();
      await kernel.kill();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

export function parentId(message: JupyterMessage): string | undefined {
  return (message.parent_header as Partial<MessageHeader>).msg_id;
}

/**
 * Collects IOPub messages that match until stopped; `until` resolves once a collected message (already
 * seen, or still to come) satisfies its predicate.
 */
export function collect(
  client: KernelClient,
  predicate: (message: JupyterMessage) => boolean,
): { messages: JupyterMessage[]; stop: () => void; until: (done: (message: JupyterMessage) => boolean) => Promise<void> } {
  const messages: JupyterMessage[] = [];
  const waiters = new Set<{ done: (message: JupyterMessage) => boolean; resolve: () => void }>();
  const stop = client.onIopub((message) => {
    if (!predicate(message)) return;
    messages.push(message);
    for (const waiter of [...waiters]) {
      if (!waiter.done(message)) continue;
      waiters.delete(waiter);
      waiter.resolve();
    }
  });
  const until = (done: (message: JupyterMessage) => boolean) =>
    messages.some(done) ? Promise.resolve() : new Promise<void>((resolve) => waiters.add({ done, resolve }));
  return { messages, stop, until };
}

/** The next `stream` message whose text includes `marker`: a cell says it has reached a point by printing it. */
export function printed(client: KernelClient, marker: string): Promise<JupyterMessage> {
  return client.nextIopub((m) => m.header.msg_type === 'stream' && String((m.content as { text?: string }).text).includes(marker));
}

/** Resolves when the kernel process's own log (its stderr and stdout, not a cell's captured output) matches. */
export function logged(kernel: KernelProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!pattern.test(kernel.log())) return false;
      kernel.child.stderr!.off('data', check);
      kernel.child.stdout!.off('data', check);
      resolve();
      return true;
    };
    // Listeners run in the order they were added: kernel.log() already holds the chunk when `check` runs.
    if (!check()) {
      kernel.child.stderr!.on('data', check);
      kernel.child.stdout!.on('data', check);
    }
  });
}

/** Whether a message is the `idle` status parented to a request: the kernel has published all it will for it. */
export function isIdleFor(requestId: string | undefined): (message: JupyterMessage) => boolean {
  return (m) => m.header.msg_type === 'status' && (m.content as { execution_state?: string }).execution_state === 'idle' && parentId(m) === requestId;
}
