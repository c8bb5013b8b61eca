/**
 * `quicksort/kernel`: what notebook cells use from the QuickSort kernel — widgets (widget protocol 2.1 with
 * anywidget-style front ends), rich display, and raw Jupyter comms. The engine itself is `quicksort`.
 *
 * @example
 * import { QuickSort } from 'quicksort';
 * import { CounterWidget, display, html } from 'quicksort/kernel';
 * const ds = await QuickSort.open('photos/');
 * display(html(`<b>${ds.stats().items}</b> images`));
 * new CounterWidget(); // the last expression of a cell shows the widget
 */
export {
  AnyWidget,
  ANYWIDGET_FRONT_END,
  CounterWidget,
  COUNTER_CSS,
  LabelingWidget,
  labelingWidget,
  LABELING_ANYWIDGET_FRONT_END,
  QUICKSORT_FRONT_END,
  COUNTER_ESM,
  WIDGET_CONTROL_TARGET,
  WIDGET_PROTOCOL_VERSION,
  WIDGET_TARGET,
  WIDGET_VIEW_MIME_TYPE,
  type AnyWidgetOptions,
  type ChangeEvent,
  type ChangeOrigin,
  type CounterNotice,
  type CounterRequest,
  type CounterState,
  type FrontEndModule,
  type LabelingFrontEnd,
  type LabelingWidgetOptions,
  type LabelingWidgetState,
} from './widgets';
export {
  DISPLAY,
  clearOutput,
  display,
  html,
  image,
  isDisplayable,
  json,
  markdown,
  mimeBundleOf,
  svg,
  type DisplayHandle,
  type DisplayOptions,
  type Displayable,
} from './display';
export { progress, type ProgressBar, type ProgressOptions, type ProgressReport } from './display/progress';
export { Comm, openComm, registerCommTarget, type CommMessage, type CommTargetHandler, type SendOptions } from './comms';
export type { MimeBundle } from './protocol';
