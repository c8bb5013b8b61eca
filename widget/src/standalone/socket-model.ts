import type { AfmModel } from '../afm/model';
import { decodeFrame, encodeFrame } from './frames';

type Listener = (...args: any[]) => void;

/** What `probe` finds of the server before a reconnect: there, gone, or there with another token (stale link). */
export type Probe = 'ok' | 'unreachable' | 'unauthorized';

/**
 * The link to the server, as the model's `connection` key (read by the app's session client): `connected`;
 * `reconnecting` (waits between tries grow from RETRY_FIRST_MS to RETRY_MAX_MS); `offline` after RETRY_ATTEMPTS
 * failed tries (still trying, every RETRY_MAX_MS), or for good when the server came back with another token.
 */
export interface ConnectionState {
  state: 'connected' | 'reconnecting' | 'offline';
  /** Tries since the link was lost. */
  attempt: number;
  /** Set once it reconnected: the session client then says hello again and resends what had no answer. */
  reconnected?: boolean;
  /** Why it stopped trying (a stale token), when it did. */
  reason?: string;
}

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;
const RETRY_ATTEMPTS = 10;

/**
 * The AFM `model` over a WebSocket to `quicksort serve`: custom messages travel as frames (./frames.ts), and
 * synced state stays in the page — `save_changes` keeps the keys named in `persist` in localStorage, so a
 * reloaded page comes back where it was (in JupyterLab the kernel keeps that state instead).
 *
 * A lost socket (the server restarted, the network gone) is opened again by itself, with growing waits; the
 * link's state is the model's `connection` key, and the session client resends what had no answer (issue 17).
 */
export class SocketModel implements AfmModel {
  private readonly state: Record<string, unknown>;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly outbox: (string | ArrayBuffer)[] = [];
  private socket: WebSocket;
  private readonly changed = new Set<string>();
  private opened = false;
  private closedByPage = false;
  private retry: ReturnType<typeof setTimeout> | undefined;

  /**
   * `probe` asks the server whether it is back (and knows this page's token) before each reconnect; `onLost`
   * hears each close the page did not ask for (the page may say more than the app's header).
   */
  constructor(
    private readonly url: string,
    initial: Record<string, unknown>,
    private readonly persist: { storageKey: string; keys: string[] },
    private readonly probe: () => Promise<Probe>,
    private readonly onLost: (event: CloseEvent, connection: ConnectionState) => void = () => undefined,
  ) {
    this.state = { ...initial, ...readStored(persist.storageKey), connection: { state: 'connected', attempt: 0 } satisfies ConnectionState };
    this.socket = this.connect(0);
  }

  /**
   * One WebSocket. Before the first one opens, what the app sends waits in the outbox; after a loss, nothing
   * does: the session client sends again, after its hello, every request that had no answer.
   */
  private connect(attempt: number): WebSocket {
    const socket = new WebSocket(this.url);
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('open', () => {
      const reconnected = this.opened;
      this.opened = true;
      for (const frame of this.outbox.splice(0)) socket.send(frame);
      if (reconnected) this.setConnection({ state: 'connected', attempt, reconnected: true });
    });
    socket.addEventListener('message', (event: MessageEvent<string | ArrayBuffer>) => {
      let frame;
      try {
        frame = decodeFrame(event.data);
      } catch (error) {
        console.error('quicksort-widget: a frame from the server could not be read', error);
        return;
      }
      this.emit('msg:custom', frame.message, frame.buffers);
    });
    socket.addEventListener('close', (event) => {
      if (this.closedByPage || socket !== this.socket) return;
      const next = attempt + 1;
      const connection: ConnectionState = { state: next > RETRY_ATTEMPTS ? 'offline' : 'reconnecting', attempt: next };
      this.setConnection(connection);
      this.onLost(event, connection);
      this.scheduleReconnect(next);
    });
    return socket;
  }

  /** Waits (250 ms, doubling to 5 s), asks whether the server is back, and opens a new socket when it is. */
  private scheduleReconnect(attempt: number): void {
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.max(0, attempt - 1));
    this.retry = setTimeout(() => {
      void this.probe().then((found) => {
        if (this.closedByPage) return;
        if (found === 'unauthorized') {
          return this.setConnection({ state: 'offline', attempt, reason: 'the server came back with a new token: open the URL it printed this time' });
        }
        if (found === 'ok') {
          this.socket = this.connect(attempt);
          return;
        }
        this.setConnection({ state: attempt + 1 > RETRY_ATTEMPTS ? 'offline' : 'reconnecting', attempt: attempt + 1 });
        this.scheduleReconnect(attempt + 1);
      });
    }, delay);
  }

  private setConnection(connection: ConnectionState): void {
    this.state.connection = connection;
    this.emit('change:connection', this, connection);
  }

  get(key: string): unknown {
    return this.state[key];
  }

  set(key: string, value: unknown): void {
    this.state[key] = value;
    this.changed.add(key);
    this.emit(`change:${key}`, this, value);
  }

  save_changes(): void {
    const keep: Record<string, unknown> = readStored(this.persist.storageKey);
    for (const key of this.changed) if (this.persist.keys.includes(key)) keep[key] = this.state[key];
    this.changed.clear();
    try {
      localStorage.setItem(this.persist.storageKey, JSON.stringify(keep));
    } catch {
      // Storage full or blocked (private mode): the view simply starts fresh next time.
    }
  }

  on(event: string, callback: Listener): void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(callback);
  }

  off(event?: string | null, callback?: Listener | null): void {
    if (!event) return this.listeners.clear();
    if (!callback) return void this.listeners.delete(event);
    this.listeners.get(event)?.delete(callback);
  }

  send(content: unknown, _callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void {
    const frame = encodeFrame(content, buffers ?? []);
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(frame);
    else if (!this.opened) this.outbox.push(frame);
  }

  close(): void {
    this.closedByPage = true;
    clearTimeout(this.retry);
    this.socket.close(1000, 'page closed');
  }

  private emit(event: string, ...args: unknown[]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) listener(...args);
  }
}

function readStored(key: string): Record<string, unknown> {
  try {
    const value = JSON.parse(localStorage.getItem(key) ?? '{}');
    return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}
