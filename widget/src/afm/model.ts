/**
 * What the app needs of its host: anywidget's front-end module (AFM) contract, after manzt/anywidget
 * `packages/types/index.ts`. The same app runs wherever something provides this `model`: the Jupyter widget
 * manager (our extension, or anywidget's), or the standalone page over a WebSocket (../standalone).
 *
 * Custom messages carry the session protocol (src/session/protocol.ts): the app sends ClientMessages with
 * `send(content)`, and hears ServerMessages as `msg:custom` events `(content, buffers)`, where image bytes
 * arrive as the message's buffers (DataViews under ipywidgets; any ArrayBuffer view is accepted here).
 */
export type BufferLike = ArrayBuffer | ArrayBufferView;

export interface AfmModel {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string | null, callback?: ((...args: any[]) => void) | null): void;
  save_changes(): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
}

export type Cleanup = () => void | Promise<void>;

export interface RenderProps {
  model: AfmModel;
  el: HTMLElement;
}

export interface AfmDefinition {
  render(props: RenderProps): Cleanup | Promise<Cleanup>;
}

/** Buffers as bytes, whatever view the host delivered them in. */
export function asBytes(buffer: BufferLike): Uint8Array {
  if (buffer instanceof Uint8Array) return buffer;
  if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  return new Uint8Array(buffer);
}
