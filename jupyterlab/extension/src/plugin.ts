import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import { MODULE_NAME, MODULE_VERSION, QuickSortModel, QuickSortView } from './widget-module';

/**
 * The JupyterLab plugin: registers the widget module `quicksort-widget` with the widget manager
 * (@jupyter-widgets/jupyterlab-manager, which provides IJupyterWidgetRegistry), so that models a kernel opens
 * with `_model_module: "quicksort-widget"` are created from these classes. The plugin object is plain (no
 * @jupyterlab/application import): a JupyterFrontEndPlugin is `{ id, requires, activate, autoStart }`.
 */
const plugin = {
  id: '@quicksort/jupyterlab:plugin',
  description: 'QuickSort labeling widget: the widget module quicksort-widget for the Jupyter widget manager.',
  requires: [IJupyterWidgetRegistry],
  autoStart: true,
  activate: (_app: unknown, registry: IJupyterWidgetRegistry): void => {
    registry.registerWidget({ name: MODULE_NAME, version: MODULE_VERSION, exports: { QuickSortModel, QuickSortView } });
  },
};

export default plugin;
