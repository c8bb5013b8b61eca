/**
 * Rich output from cells: `display(value)` and small helpers that make values render as HTML, Markdown,
 * SVG, images or JSON — as the last expression of a cell too.
 *
 * A value renders with its own MIME bundle when it has a `[Symbol.for('Jupyter.display')]()` method (the
 * convention Deno's kernel and anywidget use), so the engine can make its types displayable without
 * importing the kernel.
 *
 * @example
 * import { display, html } from 'quicksort/kernel';
 * display(html('<b>36</b> images'));
 * const progress = display('starting…');
 * progress.update('done');
 */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { currentRuntime } from '../comms';
import { InvalidArgumentError } from '../engine';
import type { MimeBundle } from '../protocol';

/** The key of a value's own MIME bundle. */
export const DISPLAY = Symbol.for('Jupyter.display');

/** A value that knows how to render itself in Jupyter. */
export interface Displayable {
  [DISPLAY](): MimeBundle | Promise<MimeBundle>;
}

export interface DisplayOptions {
  /** Display metadata, such as `{ 'image/png': { width: 64 } }`. */
  metadata?: Record<string, unknown>;
  /** Reuse a display id to replace an earlier output (update_display_data). */
  id?: string;
}

/** A shown output that can be replaced in place. */
export interface DisplayHandle {
  readonly id: string;
  /** Replaces the output with `value` (update_display_data). */
  update(value: unknown, options?: Pick<DisplayOptions, 'metadata'>): void;
}

export function isDisplayable(value: unknown): value is Displayable {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as Partial<Displayable>)[DISPLAY] === 'function';
}

/**
 * The MIME bundle of any value: its own for a {@link Displayable}, else `text/plain` as Node's REPL would
 * print it (strings as they are).
 */
export function mimeBundleOf(value: unknown): MimeBundle | Promise<MimeBundle> {
  if (isDisplayable(value)) return value[DISPLAY]();
  return { 'text/plain': typeof value === 'string' ? value : inspect(value, { depth: 4, breakLength: 100 }) };
}

/**
 * Shows `value` in the output of the running cell (IOPub display_data) and returns a handle to update it.
 * @throws ProtocolError outside the QuickSort kernel.
 */
export function display(value: unknown, options: DisplayOptions = {}): DisplayHandle {
  const runtime = currentRuntime();
  const id = options.id ?? randomUUID();
  const show = (item: unknown, update: boolean, metadata: Record<string, unknown> | undefined) => {
    const send = (data: MimeBundle) =>
      runtime.publish(update ? 'update_display_data' : 'display_data', { data, metadata: metadata ?? {}, transient: { display_id: id } });
    const bundle = mimeBundleOf(item);
    if (bundle instanceof Promise) {
      bundle.then(send, (error: unknown) => runtime.warn(`display: the value's own MIME bundle failed: ${error instanceof Error ? error.message : String(error)}`));
    } else {
      send(bundle);
    }
  };
  show(value, false, options.metadata);
  return { id, update: (item, updateOptions = {}) => show(item, true, updateOptions.metadata) };
}

/** Clears the output of the running cell; with `wait`, only when the next output arrives (no flicker). */
export function clearOutput(wait = false): void {
  currentRuntime().publish('clear_output', { wait });
}

function bundle(data: MimeBundle): Displayable {
  return { [DISPLAY]: () => data };
}

/** HTML output. */
export function html(source: string): Displayable {
  return bundle({ 'text/html': source, 'text/plain': source });
}

/** Markdown output. */
export function markdown(source: string): Displayable {
  return bundle({ 'text/markdown': source, 'text/plain': source });
}

/** SVG output. */
export function svg(source: string): Displayable {
  return bundle({ 'image/svg+xml': source, 'text/plain': '<svg image>' });
}

/** JSON output, shown as a collapsible tree where the front end can. */
export function json(value: unknown): Displayable {
  return bundle({ 'application/json': value, 'text/plain': JSON.stringify(value, null, 2) });
}

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;

/** Image output from encoded bytes. */
export function image(bytes: Uint8Array, mimeType: (typeof IMAGE_TYPES)[number] = 'image/png'): Displayable {
  if (!IMAGE_TYPES.includes(mimeType)) throw new InvalidArgumentError(`quicksort kernel: image type ${JSON.stringify(mimeType)} is not one of ${IMAGE_TYPES.join(', ')}`);
  return bundle({ [mimeType]: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'), 'text/plain': `<${mimeType} image, ${bytes.byteLength} bytes>` });
}
