import type { AfmModel } from '../afm/model';
import { decodeFrame, encodeFrame } from './frames';

type Listener = (...args: any[]) => void;

/**
 * The AFM `model` over a WebSocket to `quicksort serve`: custom messages travel as frames (./frames.ts), and
 * synced state stays in the page — `save_changes` keeps the keys named in `persist` in localStorage, so a
 * reloaded page comes back where it was (in JupyterLab the kernel keeps that state instead).
 */
export class SocketModel implements AfmModel {
  private readonly state: Record<string, unknown>;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly outbox: (string | ArrayBuffer)[] = [];
  private readonly socket: WebSocket;
  private readonly changed = new Set<string>();

  constructor(
    url: string,
    initial: Record<string, unknown>,
    private readonly persist: { storageKey: string; keys: string[] },
    private readonly onClose: (event: CloseEvent) => void,
  ) {
    this.state = { ...initial, ...readStored(persist.storageKey) };
    this.socket = new WebSocket(url);
    this.socket.binaryType = 'arraybuffer';
    this.socket.addEventListener('open', () => {
      for (const frame of this.outbox.splice(0)) this.socket.send(frame);
    });
    this.socket.addEventListener('message', (event: MessageEvent<string | ArrayBuffer>) => {
      let frame;
      try {
        frame = decodeFrame(event.data);
      } catch (error) {
        console.error('quicksort-widget: a frame from the server could not be read', error);
        return;
      }
      this.emit('msg:custom', frame.message, frame.buffers);
    });
    this.socket.addEventListener('close', (event) => this.onClose(event));
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
    else if (this.socket.readyState === WebSocket.CONNECTING) this.outbox.push(frame);
  }

  close(): void {
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
