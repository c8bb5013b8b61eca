/** The dataset facade: a folder of images plus its store, as notebooks, scripts, the CLI and the server see it. */
export { STATE_FOLDER } from '../store';
export { Dataset, QuickSort, type DatasetProgress, type LabelingWidgetFactory, type OpenOptions } from './dataset';
export type { LabelingWidgetHandle, WidgetOptions } from './labeling-widget';
export { readProgress, type ProgressReport } from './progress';
export { TextSearch, TEXT_LOSS_CHART, TEXT_TRAINING_FILE, type SearchHit, type SearchOptions, type TextTowerKind, type TextTrainOptions, type TextTrainReport } from '../text';
