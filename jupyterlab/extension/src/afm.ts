/**
 * The anywidget front-end module (AFM) contract, as the app in widget/ implements it and as anywidget's own
 * front end hosts it (manzt/anywidget `packages/types/index.ts`): an ES module whose default export is
 * `{ initialize?({ model }), render?({ model, el }) }`, or a function returning that object. `initialize` runs
 * once per model, `render` once per view; each may return a cleanup function.
 */

type Awaitable<T> = T | Promise<T>;
export type Cleanup = () => Awaitable<void>;

/** What the AFM sees of the widget model. */
export interface AfmModel {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string | null, callback?: ((...args: any[]) => void) | null): void;
  save_changes(): void;
  /** A custom message (`{method: "custom", content}` on the comm) with binary buffers. */
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
  widget_manager: { get_model(modelId: string): Promise<unknown> };
}

export interface Experimental {
  invoke(name: string, message?: unknown, options?: { buffers?: DataView[]; signal?: AbortSignal }): Promise<[unknown, DataView[]]>;
}

export interface AfmDefinition {
  initialize?(props: { model: AfmModel; experimental: Experimental }): Awaitable<void | Cleanup>;
  render?(props: { model: AfmModel; el: HTMLElement; experimental: Experimental }): Awaitable<void | Cleanup>;
}

export type AfmModule = { default?: AfmDefinition | (() => Awaitable<AfmDefinition>) };

/** Reads an imported AFM (`import * as app` or a dynamic import) into its definition. */
export async function definitionOf(module: AfmModule, origin: string): Promise<AfmDefinition> {
  const value = module?.default;
  if (typeof value === 'function') return await value();
  if (value && typeof value === 'object') return value;
  throw new TypeError(`quicksort-widget: the front-end module from ${origin} has no default export; an AFM exports \`default { render({ model, el }) }\``);
}

/**
 * anywidget's `experimental.invoke` sends `{id, kind: "anywidget-command", name, msg}` and waits for a reply;
 * QuickSort's kernel answers requests through the session protocol instead, so this host rejects it clearly.
 */
export const EXPERIMENTAL: Experimental = {
  invoke: (name) => Promise.reject(new Error(`quicksort-widget: experimental.invoke("${name}") is not supported; use model.send and msg:custom`)),
};
