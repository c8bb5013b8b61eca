import { DOMWidgetModel, DOMWidgetView } from '@jupyter-widgets/base';
import type { KernelMessage } from '@jupyterlab/services';
import { definitionOf, EXPERIMENTAL, type AfmDefinition, type AfmModule, type Cleanup } from './afm';
// The labeling app from widget/, copied here by scripts/build-extension.js (its AFM bundle and its CSS).
import * as labelingApp from './labeling-app.js';
import { LABELING_APP_CSS } from './labeling-app-css.js';
import { adaptModel } from './model-adapter';

/** The widget module this extension registers: kernels name it in `_model_module`/`_view_module`. */
export const MODULE_NAME = 'quicksort-widget';
/** Its version; kernels ask for a semver range of it (`^0.1.0`). Kept equal to package.json by a test. */
export const MODULE_VERSION = '0.1.0';
/** `_esm` value meaning "the labeling app bundled in this extension" (nothing to load from the kernel). */
export const BUNDLED_ESM = 'quicksort-widget:labeling-app';

const MODEL_NAME = 'QuickSortModel';
const VIEW_NAME = 'QuickSortView';

interface ModelRuntime {
  /** The AFM definition once loaded and `initialize`d; messages wait for it, as in anywidget. */
  ready: Promise<AfmDefinition>;
}

const RUNTIMES = new WeakMap<DOMWidgetModel, ModelRuntime>();

/**
 * The model: ipywidgets' DOMWidgetModel (state sync, echo_update, buffers, custom messages — widget protocol
 * 2.1), plus the AFM's once-per-model `initialize`. Custom messages from the kernel are held until it ran, so
 * the app never misses the first reply.
 */
export class QuickSortModel extends DOMWidgetModel {
  defaults() {
    return {
      ...super.defaults(),
      _model_name: MODEL_NAME,
      _model_module: MODULE_NAME,
      _model_module_version: MODULE_VERSION,
      _view_name: VIEW_NAME,
      _view_module: MODULE_NAME,
      _view_module_version: MODULE_VERSION,
      _esm: BUNDLED_ESM,
      _css: '',
      _anywidget_id: 'quicksort.LabelingWidget',
    };
  }

  initialize(attributes: Backbone.ObjectHash, options: never): void {
    super.initialize(attributes, options);
    const owner = {};
    let cleanup: void | Cleanup;
    const ready = (async () => {
      const definition = await loadDefinition(this);
      const { model } = adaptModel(this, owner);
      cleanup = await definition.initialize?.({ model, experimental: EXPERIMENTAL });
      return definition;
    })();
    // A failed load is shown by each view; keep the rejection from being reported as unhandled here.
    ready.catch(() => undefined);
    RUNTIMES.set(this, { ready });
    this.once('destroy', () => {
      this.off(null, null, owner);
      RUNTIMES.delete(this);
      void Promise.resolve(typeof cleanup === 'function' ? cleanup() : undefined).catch((error) => console.error('quicksort-widget: initialize cleanup failed', error));
    });
  }

  async _handle_comm_msg(message: KernelMessage.ICommMsgMsg): Promise<void> {
    await RUNTIMES.get(this)?.ready.catch(() => undefined);
    return super._handle_comm_msg(message);
  }

  static model_name = MODEL_NAME;
  static model_module = MODULE_NAME;
  static model_module_version = MODULE_VERSION;
  static view_name = VIEW_NAME;
  static view_module = MODULE_NAME;
  static view_module_version = MODULE_VERSION;
}

/**
 * The view: mounts the AFM's `render` into its element, and keeps JupyterLab's notebook shortcuts (a, b, d d,
 * x, m, Enter…) away from keys typed inside it.
 *
 * Lumino's command registry skips a key binding when, walking up from the event target, it meets an element
 * with `data-lm-suppress-shortcuts` *before* one matching the binding's selector (@lumino/commands,
 * `targetDistance`). The notebook's command-mode selector ends in `:focus`, which the focused element inside
 * the app matches itself, so the attribute must be on that element, not only on the view: it is added to
 * whatever takes focus inside the view (before any key), and to the target of every keydown seen while it
 * descends (capture phase), so keys still reach the app's own listeners wherever they are. Keys with Ctrl,
 * Alt or Meta are left to JupyterLab (Ctrl+S saves while the app has focus).
 */
export class QuickSortView extends DOMWidgetView {
  private readonly controller = new AbortController();
  private cleanup: void | Cleanup = undefined;
  private release: (() => void) | undefined;

  render(): Promise<void> {
    this.el.classList.add('quicksort-widget');
    suppressShortcuts(this.el);
    const { signal } = this.controller;
    this.el.addEventListener('focusin', (event) => event.target instanceof Element && suppressShortcuts(event.target), { signal });
    // Keys with Ctrl, Alt or Meta stay JupyterLab's (save, command palette…): the marks come off for them.
    this.el.addEventListener(
      'keydown',
      (event) => {
        const plain = !event.ctrlKey && !event.altKey && !event.metaKey;
        for (const element of [this.el, event.target]) if (element instanceof Element) suppressShortcuts(element, plain);
      },
      { capture: true, signal },
    );
    return this.mount();
  }

  private async mount(): Promise<void> {
    const runtime = RUNTIMES.get(this.model);
    try {
      if (!runtime) throw new Error('quicksort-widget: the model was destroyed before its view rendered');
      const definition = await runtime.ready;
      if (this.controller.signal.aborted) return;
      const { model, release } = adaptModel(this.model, this);
      this.release = release;
      this.cleanup = await definition.render?.({ model, el: this.el, experimental: EXPERIMENTAL });
      if (this.controller.signal.aborted) await this.runCleanup();
    } catch (error) {
      showError(this.el, error);
    }
  }

  private async runCleanup(): Promise<void> {
    const cleanup = this.cleanup;
    this.cleanup = undefined;
    try {
      if (typeof cleanup === 'function') await cleanup();
    } catch (error) {
      console.error('quicksort-widget: render cleanup failed', error);
    }
  }

  remove(): unknown {
    this.controller.abort();
    void this.runCleanup();
    this.release?.();
    return super.remove();
  }
}

/** The AFM a model asks for: the bundled labeling app, or (anywidget-style) the module source in `_esm`. */
async function loadDefinition(model: DOMWidgetModel): Promise<AfmDefinition> {
  const esm = model.get('_esm');
  const id = String(model.get('_anywidget_id') || 'quicksort.LabelingWidget');
  if (esm === BUNDLED_ESM || esm === '' || esm === undefined) {
    injectCss(LABELING_APP_CSS, 'quicksort-widget-labeling-app');
    return definitionOf(labelingApp as AfmModule, 'the quicksort-widget extension');
  }
  if (typeof esm !== 'string') throw new TypeError(`quicksort-widget: _esm must be a string (module source or URL), got ${typeof esm}`);
  injectCss(String(model.get('_css') ?? ''), id);
  return definitionOf(await importModule(esm), `_esm of ${id}`);
}

async function importModule(esm: string): Promise<AfmModule> {
  if (/^https?:\/\//.test(esm)) return import(/* webpackIgnore: true */ esm);
  const url = URL.createObjectURL(new Blob([esm], { type: 'text/javascript' }));
  try {
    return await import(/* webpackIgnore: true */ url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** One style element per widget class, replaced when its CSS changes. */
function injectCss(css: string, id: string): void {
  if (!css) return;
  const elementId = `quicksort-widget-css-${id}`;
  let style = document.getElementById(elementId) as HTMLStyleElement | null;
  if (!style) {
    style = document.createElement('style');
    style.id = elementId;
    document.head.appendChild(style);
  }
  if (style.textContent !== css) style.textContent = css;
}

const SUPPRESS_SHORTCUTS = 'data-lm-suppress-shortcuts';

function suppressShortcuts(element: Element, suppress = true): void {
  if (suppress && !element.hasAttribute(SUPPRESS_SHORTCUTS)) element.setAttribute(SUPPRESS_SHORTCUTS, 'true');
  else if (!suppress) element.removeAttribute(SUPPRESS_SHORTCUTS);
}

function showError(el: HTMLElement, error: unknown): void {
  console.error(error);
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const pre = document.createElement('pre');
  pre.className = 'quicksort-widget-error';
  pre.textContent = `The QuickSort labeling widget could not start.\n${message}`;
  el.replaceChildren(pre);
}
