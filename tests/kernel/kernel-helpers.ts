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

/** Collects IOPub messages that match until stopped. */
export function collect(client: KernelClient, predicate: (message: JupyterMessage) => boolean): { messages: JupyterMessage[]; stop: () => void } {
  const messages: JupyterMessage[] = [];
  const stop = client.onIopub((message) => {
    if (predicate(message)) messages.push(message);
  });
  return { messages, stop };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
