/**
 * Jupyter widgets for cells (widget protocol 2.1): {@link AnyWidget}, the base for widgets whose front end
 * is an anywidget-style ES module, the {@link CounterWidget} example, and the control target that returns
 * all widget states to a reconnecting front end.
 *
 * @example
 * import { CounterWidget } from 'quicksort/kernel';
 * const counter = new CounterWidget();
 * counter; // a view in the output
 */
export {
  AnyWidget,
  ANYWIDGET_FRONT_END,
  WIDGET_CONTROL_TARGET,
  WIDGET_PROTOCOL_VERSION,
  WIDGET_TARGET,
  WIDGET_VIEW_MIME_TYPE,
  type AnyWidgetOptions,
  type ChangeEvent,
  type ChangeOrigin,
  type FrontEndModule,
} from './any-widget';
export { CounterWidget, COUNTER_CSS, COUNTER_ESM, type CounterNotice, type CounterRequest, type CounterState } from './counter-widget';
export {
  BUNDLED_ESM,
  LABELING_ANYWIDGET_FRONT_END,
  LabelingWidget,
  labelingAppSource,
  labelingWidget,
  QUICKSORT_FRONT_END,
  type LabelingFrontEnd,
  type LabelingWidgetOptions,
  type LabelingWidgetState,
} from './labeling-widget';
export { registerWidgetControl } from './widget-control';
export { isBinary, putBuffers, removeBuffers } from './buffers';
