import { isDeepStrictEqual } from 'node:util';
import { currentRuntime, type Comm, type CommMessage, type KernelRuntime, type SerializedState, type StatefulModel } from '../comms';
import { DISPLAY, type Displayable } from '../display';
import { InvalidArgumentError, ProtocolError } from '../engine';
import type { MimeBundle } from '../protocol';
import { putBuffers, removeBuffers } from './buffers';

/**
 * The version of the widget messaging protocol spoken here (ipywidgets `packages/schema/messages.md`):
 * 2.1 adds `echo_update`. Sent as comm_open metadata and in the widget-view MIME type.
 */
export const WIDGET_PROTOCOL_VERSION = '2.1.0';

/** The comm target of widget models, and of the control channel that returns all states at once. */
export const WIDGET_TARGET = 'jupyter.widget';
export const WIDGET_CONTROL_TARGET = 'jupyter.widget.control';

/** The MIME type that shows a widget view (widget protocol 2, "Displaying widgets"). */
export const WIDGET_VIEW_MIME_TYPE = 'application/vnd.jupyter.widget-view+json';

/** Which front-end model and view render the widget (`_model_module`, `_model_name`, `_view_*`). */
export interface FrontEndModule {
  /** The front-end package (JupyterLab widget extension) that defines model and view. */
  module: string;
  /** A semver range of that package. */
  version: string;
  model: string;
  view: string;
}

/**
 * anywidget's generic model and view: they load the widget's own ES module (`_esm`) and CSS (`_css`) from
 * its state. A front end registering another module with the same contract can be named instead.
 */
export const ANYWIDGET_FRONT_END: FrontEndModule = { module: 'anywidget', version: '~0.9.*', model: 'AnyModel', view: 'AnyView' };

/** State keys owned by the widget machinery; front ends cannot change them. */
const RESERVED_KEY = /^_(model|view)_|^_esm$|^_css$|^_anywidget_id$/;

export interface AnyWidgetOptions<State extends object> {
  /**
   * The front end, as an ES module whose default export is `{ render({ model, el }) }` and optionally
   * `initialize({ model })` (anywidget's front-end module contract).
   */
  esm: string;
  /** CSS for the view. */
  css?: string;
  /** The synced state: JSON values, and binary values (Uint8Array, ArrayBuffer…) anywhere inside. */
  state: State;
  /** Defaults to {@link ANYWIDGET_FRONT_END}. */
  frontEnd?: FrontEndModule;
  /**
   * Keys whose front-end changes are not echoed back to all front ends (large or very frequent values).
   * All of them when the environment sets JUPYTER_WIDGETS_ECHO=0, as ipywidgets does.
   */
  noEcho?: readonly (keyof State & string)[];
  /** The `text/plain` shown where widgets cannot render (nbconvert, terminals). */
  label?: string;
}

/** Where a state change came from. */
export type ChangeOrigin = 'kernel' | 'front-end';

export interface ChangeEvent<State, K extends keyof State = keyof State> {
  key: K;
  value: State[K];
  previous: State[K];
  origin: ChangeOrigin;
}

interface ListenerOptions {
  /** Stops listening when aborted. */
  signal?: AbortSignal;
}

type AnyListener = (...args: never[]) => void;

/**
 * A widget whose front end is an anywidget-style ES module, with state kept in sync both ways and custom
 * messages (with binary buffers) both ways, over the Jupyter widget protocol 2.1. Creating one opens its
 * model in every connected front end; `display(widget)` or ending a cell with it shows a view.
 *
 * `State` is the synced state; `ToFrontEnd` and `FromFrontEnd` type the custom messages.
 *
 * @example
 * class Counter extends AnyWidget<{ count: number }> {
 *   constructor() { super({ esm: COUNTER_ESM, state: { count: 0 } }); }
 * }
 * const counter = new Counter();
 * counter.on('change:count', (count) => console.log(count));
 * counter.set('count', 5); // the front end sees 5
 * counter; // shows it
 */
export class AnyWidget<State extends object, ToFrontEnd = unknown, FromFrontEnd = unknown> implements StatefulModel, Displayable {
  readonly #runtime: KernelRuntime;
  readonly #comm: Comm;
  readonly #state: State;
  readonly #internal: Record<string, unknown>;
  readonly #echo: (key: string) => boolean;
  readonly #label: string;
  readonly #listeners = new Map<string, Set<AnyListener>>();

  constructor(options: AnyWidgetOptions<State>) {
    if (typeof options?.esm !== 'string' || options.esm.trim() === '') {
      throw new InvalidArgumentError('quicksort kernel: a widget needs `esm`, the source of its front-end ES module (export default { render({ model, el }) { … } })');
    }
    if (typeof options.state !== 'object' || options.state === null || Array.isArray(options.state)) {
      throw new InvalidArgumentError('quicksort kernel: a widget needs `state`, an object of its synced values');
    }
    const reserved = Object.keys(options.state).filter((key) => RESERVED_KEY.test(key));
    if (reserved.length > 0) throw new InvalidArgumentError(`quicksort kernel: state keys ${reserved.join(', ')} are reserved for the widget protocol; rename them`);
    this.#runtime = currentRuntime();
    this.#state = { ...options.state };
    const frontEnd = options.frontEnd ?? ANYWIDGET_FRONT_END;
    const name = new.target.name || 'AnyWidget';
    this.#internal = {
      _model_module: frontEnd.module,
      _model_module_version: frontEnd.version,
      _model_name: frontEnd.model,
      _view_module: frontEnd.module,
      _view_module_version: frontEnd.version,
      _view_name: frontEnd.view,
      _view_count: null,
      _esm: options.esm,
      _css: options.css ?? '',
      _anywidget_id: `quicksort.${name}`,
    };
    const noEcho = new Set<string>(options.noEcho ?? []);
    const echoOn = !/^(0|false|no|off)$/i.test(process.env.JUPYTER_WIDGETS_ECHO ?? '');
    this.#echo = (key) => echoOn && !noEcho.has(key);
    this.#label = options.label ?? `${name}()`;

    // Widget protocol 2: the model is created by comm_open to jupyter.widget with the whole state, binary
    // values moved to buffers; the metadata names the protocol version.
    const { state, bufferPaths, buffers } = this.serializeState();
    this.#comm = this.#runtime.comms.open(WIDGET_TARGET, { state, buffer_paths: bufferPaths }, { buffers, metadata: { version: WIDGET_PROTOCOL_VERSION } });
    this.#runtime.widgets.set(this.#comm.id, this);
    this.#comm.onMessage((message) => this.#receive(message));
    this.#comm.onClose(() => {
      this.#runtime.widgets.delete(this.#comm.id);
      this.#emit('close');
      this.#listeners.clear();
    });
  }

  /** The model id: the id of the widget's comm, which front ends use to find it. */
  get id(): string {
    return this.#comm.id;
  }

  /** Whether the widget was closed (by {@link close} or by a front end). */
  get closed(): boolean {
    return this.#comm.closed;
  }

  /** A snapshot of the synced state. */
  get state(): Readonly<State> {
    return { ...this.#state };
  }

  get<K extends keyof State>(key: K): State[K] {
    return this.#state[key];
  }

  /**
   * Changes synced values: listeners run, and the front ends receive one `update` with the values that
   * changed. A closed widget keeps its state locally.
   */
  set<K extends keyof State>(key: K, value: State[K]): void;
  set(changes: Partial<State>): void;
  set(keyOrChanges: keyof State | Partial<State>, value?: unknown): void {
    const changes = (typeof keyOrChanges === 'object' ? keyOrChanges : { [keyOrChanges]: value }) as Partial<State>;
    const reserved = Object.keys(changes).filter((key) => RESERVED_KEY.test(key));
    if (reserved.length > 0) throw new InvalidArgumentError(`quicksort kernel: ${reserved.join(', ')} belong to the widget protocol and cannot be set`);
    const changed = this.#apply(changes, 'kernel');
    if (changed.length === 0 || this.closed) return;
    const delta: Record<string, unknown> = {};
    for (const key of changed) delta[key] = this.#state[key as keyof State];
    this.#sendState('update', delta);
  }

  /**
   * Sends a custom message to the front ends (`model.on("msg:custom", (content, buffers) => …)` there).
   * @throws ProtocolError when the widget is closed.
   */
  send(content: ToFrontEnd, buffers: readonly Uint8Array[] = []): void {
    if (this.closed) throw new ProtocolError(`quicksort kernel: widget ${this.id} is closed; create a new one to send`);
    this.#comm.send({ method: 'custom', content }, { buffers });
  }

  /** Calls `listener` when `key` changes, from the kernel or a front end. */
  on<K extends keyof State & string>(event: `change:${K}`, listener: (value: State[K], change: ChangeEvent<State, K>) => void, options?: ListenerOptions): () => void;
  /** Calls `listener` once per batch of changes (one `set` or one front-end update). */
  on(event: 'change', listener: (changes: Partial<State>, origin: ChangeOrigin) => void, options?: ListenerOptions): () => void;
  /** Calls `listener` for each custom message from a front end. */
  on(event: 'msg:custom', listener: (content: FromFrontEnd, buffers: Uint8Array[]) => void, options?: ListenerOptions): () => void;
  /** Calls `listener` when the widget closes. */
  on(event: 'close', listener: () => void, options?: ListenerOptions): () => void;
  on(event: string, listener: AnyListener, options: ListenerOptions = {}): () => void {
    if (options.signal?.aborted) return () => {};
    const set = this.#listeners.get(event) ?? new Set<AnyListener>();
    this.#listeners.set(event, set);
    set.add(listener);
    const off = () => {
      set.delete(listener);
      options.signal?.removeEventListener('abort', off);
    };
    options.signal?.addEventListener('abort', off, { once: true });
    return off;
  }

  /** Closes the model in the kernel and in every front end; views disappear. */
  close(): void {
    this.#comm.close();
  }

  /** The MIME bundle that shows a view of this widget. */
  [DISPLAY](): MimeBundle {
    // messages.md, "Displaying widgets": version 2.0 of the view data, as ipywidgets 8 sends it with 2.1 comms.
    return {
      [WIDGET_VIEW_MIME_TYPE]: { version_major: 2, version_minor: 0, model_id: this.id },
      'text/plain': this.#label,
    };
  }

  /** The whole state for the wire: the protocol keys, the ES module and CSS, and the synced values. */
  serializeState(): SerializedState {
    return removeBuffers({ ...(this.#internal ?? {}), ...(this.#state as Record<string, unknown>) });
  }

  #sendState(method: 'update' | 'echo_update', state: Record<string, unknown>): void {
    const serialized = removeBuffers(state);
    this.#comm.send({ method, state: serialized.state, buffer_paths: serialized.bufferPaths }, { buffers: serialized.buffers });
  }

  /** Widget protocol 2.1, messages from a front end on the model's comm. */
  #receive(message: CommMessage): void {
    const { data } = message;
    switch (data.method) {
      case 'update': {
        const incoming = putBuffers({ ...((data.state as Record<string, unknown>) ?? {}) }, data.buffer_paths, message.buffers);
        const accepted: Record<string, unknown> = {};
        const ignored: string[] = [];
        for (const [key, value] of Object.entries(incoming)) {
          if (RESERVED_KEY.test(key) || !(key in this.#state)) ignored.push(key);
          else accepted[key] = value;
        }
        if (ignored.length > 0) this.#runtime.log(`widget ${this.id}: ignored front-end update of ${ignored.join(', ')} (not in its state)`);
        // 2.1: echo the front end's values to all front ends first, parented to its message, so the sender
        // knows where its change sits in the order of kernel updates (ipywidgets does the same, before
        // applying). Changes that listeners make while applying go out as ordinary updates.
        const echo = Object.fromEntries(Object.entries(accepted).filter(([key]) => this.#echo(key)));
        if (Object.keys(echo).length > 0 && !this.closed) this.#sendState('echo_update', echo);
        this.#apply(accepted as Partial<State>, 'front-end');
        return;
      }
      case 'request_state': {
        // "The kernel side of the widget should immediately send an update message with the entire widget
        // state" — parented to the request by the host.
        const full = this.serializeState();
        this.#comm.send({ method: 'update', state: full.state, buffer_paths: full.bufferPaths }, { buffers: full.buffers });
        return;
      }
      case 'custom':
        this.#emit('msg:custom', data.content as FromFrontEnd, message.buffers);
        return;
      default:
        this.#runtime.log(`widget ${this.id}: ignored a message with unknown method ${JSON.stringify(data.method)}`);
    }
  }

  /** Stores changed values and runs listeners; returns the keys whose value really changed. */
  #apply(changes: Partial<State>, origin: ChangeOrigin): string[] {
    const events: ChangeEvent<State>[] = [];
    for (const [key, value] of Object.entries(changes)) {
      const previous = this.#state[key as keyof State];
      if (isDeepStrictEqual(previous, value)) continue;
      this.#state[key as keyof State] = value as State[keyof State];
      events.push({ key: key as keyof State, value: value as State[keyof State], previous, origin });
    }
    for (const event of events) this.#emit(`change:${String(event.key)}`, event.value, event);
    if (events.length > 0) this.#emit('change', Object.fromEntries(events.map((event) => [event.key, event.value])), origin);
    return events.map((event) => String(event.key));
  }

  #emit(event: string, ...args: unknown[]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (listener as (...values: unknown[]) => void)(...args);
      } catch (error) {
        this.#runtime.warn(`widget ${this.id}: a ${event} listener threw: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      }
    }
  }
}
