/** The dataset facade: a folder of images plus its store, as notebooks, scripts, the CLI and the server see it. */
export { Dataset, QuickSort, STATE_FOLDER, type DatasetProgress, type LabelingWidgetFactory, type OpenOptions } from './dataset';
export type { LabelingWidgetHandle, WidgetOptions } from './labeling-widget';
export { readProgress, type ProgressReport } from './progress';
