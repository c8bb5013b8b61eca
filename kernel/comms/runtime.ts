import { ProtocolError } from '../engine';
import type { SendOptions } from './comm';
import { CommManager } from './comm-manager';

/** A path into a state object: keys and list indices (widget protocol 2, `buffer_paths`). */
export type BufferPath = (string | number)[];

/** A widget state split for the wire: JSON state, the paths its binary values were taken from, and those values. */
export interface SerializedState {
  state: Record<string, unknown>;
  bufferPaths: BufferPath[];
  buffers: Uint8Array[];
}

/** What jupyter.widget.control needs of a live widget model to answer request_states. */
export interface StatefulModel {
  readonly id: string;
  serializeState(): SerializedState;
}

/** The IOPub message types that code in cells may publish through the runtime. */
export type PublishedMessageType = 'comm_open' | 'comm_msg' | 'comm_close' | 'display_data' | 'update_display_data' | 'clear_output';

/**
 * What cell-facing code (comms, widgets, display) needs from the kernel host: a way to publish on IOPub —
 * parented by the host to the request being handled — a log, the comms and the live widget models.
 */
export interface KernelRuntime {
  readonly comms: CommManager;
  /** Live widget models by model id (= comm id). */
  readonly widgets: Map<string, StatefulModel>;
  publish(msgType: PublishedMessageType, content: Record<string, unknown>, options?: SendOptions): void;
  /** Notes for the kernel's log (the Jupyter server's console). */
  log(message: string): void;
  /** Problems the notebook user should see: the kernel log and the stderr of the current request. */
  warn(message: string): void;
}

/** Builds a runtime around a publish function: the host passes its IOPub publisher, tests a recorder. */
export function createRuntime(publish: KernelRuntime['publish'], log: (message: string) => void, warn: (message: string) => void = log): KernelRuntime {
  const comms = new CommManager({ publish, log, warn });
  return { comms, widgets: new Map(), publish, log, warn };
}

// One slot per process, keyed by a registered symbol so that the runtime is found even if this module were
// loaded twice (a notebook importing `quicksort/kernel` through another path than the host).
const SLOT = Symbol.for('quicksort.kernel.runtime');
type Slot = { [SLOT]?: KernelRuntime };

/** Makes `runtime` the one cells use; returns a function that removes it again. */
export function installRuntime(runtime: KernelRuntime): () => void {
  const slot = globalThis as Slot;
  const previous = slot[SLOT];
  slot[SLOT] = runtime;
  return () => {
    if (slot[SLOT] === runtime) slot[SLOT] = previous;
  };
}

/** The runtime of the kernel this code runs in. @throws ProtocolError outside the QuickSort kernel. */
export function currentRuntime(): KernelRuntime {
  const runtime = (globalThis as Slot)[SLOT];
  if (!runtime) {
    throw new ProtocolError(
      'quicksort kernel: comms, widgets and display need the QuickSort Jupyter kernel; run this code in a notebook using the "TypeScript (QuickSort)" kernel (install it with `npx quicksort jupyter install`)',
    );
  }
  return runtime;
}

/** The runtime if this code runs in the kernel, else undefined. */
export function maybeRuntime(): KernelRuntime | undefined {
  return (globalThis as Slot)[SLOT];
}
