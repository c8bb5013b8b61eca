import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { cachedEmbeddings, InvalidArgumentError, LabelingSession, NotFoundError, SessionHost, type ClientMessage, type Dataset, type EmbeddingMatrix, type ServerMessage, type WidgetOptions } from '../engine';
import { packageInfo } from '../host/package-root';
import { AnyWidget, ANYWIDGET_FRONT_END, type FrontEndModule } from './any-widget';

/**
 * The JupyterLab extension's widget module (jupyterlab/extension, installed by `quicksort jupyter install`).
 * Its model and view carry the labeling app inside the extension, so the kernel sends no module source.
 */
export const QUICKSORT_FRONT_END: FrontEndModule = { module: 'quicksort-widget', version: '^0.1.0', model: 'QuickSortModel', view: 'QuickSortView' };

/** `_esm` meaning "the app bundled in the quicksort-widget extension" (jupyterlab/extension/src/widget-module.ts). */
export const BUNDLED_ESM = 'quicksort-widget:labeling-app';

/**
 * anywidget's front end, for JupyterLabs that have anywidget (`pip install anywidget`) but not our extension,
 * and for other anywidget hosts (VS Code, Colab, marimo). anywidget registers its module at its exact package
 * version (0.9.x, and 0.11.0 on npm since May 2026) and the widget manager picks a registered version that
 * satisfies `_model_module_version` as a semver range; its Python side sends `~0.9.*`. This range accepts
 * both lines, whose model contract (`_esm`, `_css`, `_anywidget_id`, AnyModel/AnyView) is the same.
 */
export const LABELING_ANYWIDGET_FRONT_END: FrontEndModule = { ...ANYWIDGET_FRONT_END, version: '>=0.9.0 <0.12.0' };

/** Where the widget build leaves the app's front-end module and CSS in the package (first found wins). */
const APP_BUNDLES = [
  ['dist/widget/labeling-app.js', 'dist/widget/labeling-app.css'],
  ['dist/widget/index.js', 'dist/widget/index.css'],
  ['widget/dist/labeling-app.js', 'widget/dist/labeling-app.css'],
  ['widget/dist/index.js', 'widget/dist/index.css'],
] as const;

export type LabelingFrontEnd = NonNullable<WidgetOptions['frontEnd']>;

/** `ds.widget()`'s options (src/dataset), and the app to send in place of the package's built one. */
export interface LabelingWidgetOptions extends WidgetOptions {
  /** The app's module and CSS sources for the anywidget front end (by default the package's built app). */
  app?: { esm: string; css?: string };
}

/**
 * The synced state. The app (widget/src/index.tsx) reads `user`, `prefetch`, `page_size` and
 * `image_prefetch`, and writes `ui` (the view to restore) back with save_changes, so a reloaded page comes
 * back to the same view.
 */
export interface LabelingWidgetState {
  /** The dataset folder, shown by the app. */
  dataset: string;
  user: string;
  /** The session protocol version (src/session/protocol.ts). */
  protocol: number;
  /** Items the engine keeps ready ahead of the current one. */
  prefetch: number;
  /** Items per grid page. */
  page_size: number;
  /** Next images the app fetches and decodes ahead. */
  image_prefetch: number;
  /** The app's view state, owned by the front end. */
  ui: unknown;
}

/** One session host per dataset in this kernel: one learner, and no item handed to two widgets at once. */
const HOSTS = new WeakMap<Dataset, SessionHost>();

function hostFor(dataset: Dataset, options: LabelingWidgetOptions): SessionHost {
  let host = HOSTS.get(dataset);
  if (!host) {
    host = new SessionHost(dataset, { embeddings: embeddingsFor(dataset, options.embeddings), ranker: options.ranker });
    HOSTS.set(dataset, host);
  }
  return host;
}

function embeddingsFor(dataset: Dataset, given: EmbeddingMatrix | false | undefined): EmbeddingMatrix | undefined {
  if (given === false) return undefined;
  // Without a usable cache (ds.embed() not run) the queue is in id order until there is one.
  return given ?? cachedEmbeddings(dataset);
}

/** The built app (AFM source and CSS) of this package, for the anywidget front end. */
export function labelingAppSource(root = packageInfo().root): { esm: string; css: string } {
  for (const [script, style] of APP_BUNDLES) {
    const file = path.join(root, script);
    if (existsSync(file)) {
      const css = path.join(root, style);
      return { esm: readFileSync(file, 'utf8'), css: existsSync(css) ? readFileSync(css, 'utf8') : '' };
    }
  }
  throw new NotFoundError(`quicksort kernel: the labeling app is not built (none of ${APP_BUNDLES.map(([script]) => script).join(', ')} in ${root}); run \`npm run build\` there`);
}

/**
 * The labeling app in a cell: a widget whose front end is the app, and whose kernel side is a session on the
 * dataset (src/session). Session protocol messages travel as the widget's custom messages, image bytes as
 * their buffers, so the same app runs here and over `quicksort serve`'s websocket. Labels land in the
 * dataset's store as they are made; other cells can read `ds.stats()` meanwhile.
 *
 * A reloaded page gets the widget back (the kernel answers `jupyter.widget.control`), and the app says
 * `hello` again to resume its queue. After a kernel restart, running the cell again opens a new session that
 * continues from what the store holds.
 *
 * @example
 * const ds = await QuickSort.open('photos/');
 * new LabelingWidget(ds); // the last expression of a cell shows the app
 */
export class LabelingWidget extends AnyWidget<LabelingWidgetState, ServerMessage, ClientMessage> {
  readonly session: LabelingSession;
  readonly host: SessionHost;

  constructor(dataset: Dataset, options: LabelingWidgetOptions = {}) {
    const frontEnd = options.frontEnd ?? 'jupyterlab';
    if (frontEnd !== 'jupyterlab' && frontEnd !== 'anywidget') {
      throw new InvalidArgumentError(`quicksort kernel: frontEnd must be "jupyterlab" or "anywidget", got ${JSON.stringify(frontEnd)}`);
    }
    const app = frontEnd === 'anywidget' ? (options.app ?? labelingAppSource()) : { esm: BUNDLED_ESM, css: '' };
    const user = options.user ?? dataset.user;
    super({
      esm: app.esm,
      css: app.css ?? '',
      state: { dataset: dataset.root, user, protocol: 1, prefetch: options.prefetch ?? 8, page_size: options.pageSize ?? 40, image_prefetch: options.imagePrefetch ?? 4, ui: null },
      frontEnd: frontEnd === 'anywidget' ? LABELING_ANYWIDGET_FRONT_END : QUICKSORT_FRONT_END,
      label: `LabelingWidget(${path.basename(dataset.root)})`,
    });
    this.host = hostFor(dataset, options);
    this.session = new LabelingSession(this.host, ({ message, buffers }) => {
      if (!this.closed) this.send(message, buffers ?? []);
    }, { user, prefetch: options.prefetch });
    // Every client message gets exactly one ack or refused (LabelingSession.handle never throws).
    this.on('msg:custom', (message) => void this.session.handle(message));
    this.on('close', () => this.session.close());
  }
}

/**
 * The labeling widget for a dataset: what `ds.widget()` returns in a notebook on the QuickSort kernel, which
 * provides it to `Dataset` when it starts (kernel/host/kernel-host.ts).
 *
 * @example
 * labelingWidget(ds, { frontEnd: 'anywidget' });
 */
export function labelingWidget(dataset: Dataset, options: LabelingWidgetOptions = {}): LabelingWidget {
  return new LabelingWidget(dataset, options);
}
