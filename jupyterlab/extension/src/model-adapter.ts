import type { DOMWidgetModel } from '@jupyter-widgets/base';
import type { AfmModel } from './afm';

/**
 * The AFM's `model` over an ipywidgets model, scoped to one owner (a view, or the model's `initialize`): every
 * listener the AFM adds is registered with the owner as Backbone context, so `release()` removes exactly the
 * owner's listeners when its view goes away (as anywidget does with `model.off(null, null, view)`).
 *
 * Event shapes are ipywidgets' own and so anywidget's: `change:<key>` listeners get `(model, value)`,
 * `msg:custom` listeners get `(content, buffers)` with buffers as DataViews (widget protocol 2, custom
 * messages: https://github.com/jupyter-widgets/ipywidgets/blob/main/packages/schema/messages.md).
 */
export function adaptModel(model: DOMWidgetModel, owner: object): { model: AfmModel; release(): void } {
  const adapted: AfmModel = {
    get: (key) => model.get(key),
    set: (key, value) => {
      model.set(key, value);
    },
    on: (event, callback) => {
      model.on(event, callback, owner);
    },
    off: (event, callback) => {
      // Backbone's off(null, null, context) removes all of this owner's listeners, never another view's.
      model.off(event ?? null, callback ?? null, owner);
    },
    save_changes: () => model.save_changes(),
    send: (content, callbacks, buffers) => model.send(content as never, callbacks as never, buffers),
    get widget_manager() {
      return model.widget_manager as unknown as AfmModel['widget_manager'];
    },
  };
  return { model: adapted, release: () => model.off(null, null, owner) };
}
