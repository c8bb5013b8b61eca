import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { Dataset } from '../../dist/dataset';
import { ProtocolError } from '../../dist/errors';
import { createRuntime, installRuntime, type KernelRuntime } from '../../dist/kernel/comms';
import { BUNDLED_ESM, LabelingWidget, labelingWidget, LABELING_ANYWIDGET_FRONT_END, QUICKSORT_FRONT_END, WIDGET_VIEW_MIME_TYPE } from '../../dist/kernel/widgets';
import type { JupyterMessage } from '../../dist/kernel/protocol';
import { sampleCopy, tempDir } from '../helpers/fixtures';
import { TOOLS } from './test-bed';

/**
 * The messages the kernel's labeling widget sends, against the two front ends that render it: anywidget's
 * (its model contract, read from anywidget's own front end, packages/anywidget/src/widget.ts: AnyModel and
 * AnyView from module "anywidget", `_esm` loaded as an ES module from source or URL, `_css` injected under
 * `_anywidget_id`, custom messages as `msg:custom`) and our extension's (module quicksort-widget). Exact
 * payloads on a recording runtime, as anywidget's Deno kernel tests do.
 */

interface Sent {
  msgType: string;
  content: Record<string, any>;
  metadata?: Record<string, unknown>;
  buffers: Uint8Array[];
}

/** A runtime that records what the kernel sends; `until` resolves once a sent message (so far or to come) matches. */
function recordingRuntime(): { runtime: KernelRuntime; sent: Sent[]; until: (match: (message: Sent) => boolean) => Promise<void>; remove: () => void } {
  const sent: Sent[] = [];
  const waiters = new Set<{ match: (message: Sent) => boolean; resolve: () => void }>();
  const runtime = createRuntime(
    (msgType, content, options = {}) => {
      const message: Sent = { msgType, content, metadata: options.metadata, buffers: [...(options.buffers ?? [])] };
      sent.push(message);
      for (const waiter of [...waiters]) {
        if (!waiter.match(message)) continue;
        waiters.delete(waiter);
        waiter.resolve();
      }
    },
    () => undefined,
    () => undefined,
  );
  const until = (match: (message: Sent) => boolean) => (sent.some(match) ? Promise.resolve() : new Promise<void>((resolve) => waiters.add({ match, resolve })));
  return { runtime, sent, until, remove: installRuntime(runtime) };
}

/** Whether a sent message is a custom message of the session protocol with this type. */
const sessionMessage = (type: string) => (message: Sent) => message.content.data?.content?.type === type;

let seq = 0;
function customFromFrontEnd(commId: string, content: Record<string, unknown>): JupyterMessage {
  return {
    identities: [],
    header: { msg_id: `front-${++seq}`, msg_type: 'comm_msg', session: 's', username: 'u', date: new Date().toISOString(), version: '5.3' },
    parent_header: {},
    metadata: {},
    content: { comm_id: commId, data: { method: 'custom', content } },
    buffers: [],
  };
}

const STUB_APP = readFileSync(path.join(__dirname, 'fixtures', 'stub-labeling-app.js'), 'utf8');
/** The versions anywidget's front end registers its module at: 0.9.x (the Python package's line) and 0.11.0 (npm, 2026). */
const ANYWIDGET_FRONT_END_VERSIONS = ['0.9.18', '0.9.21', '0.11.0'];

describe('the labeling widget on the wire', () => {
  let data: ReturnType<typeof sampleCopy>;
  let ds: Dataset;
  let env: ReturnType<typeof recordingRuntime>;

  beforeAll(async () => {
    data = sampleCopy();
    ds = await Dataset.open(data.dir, { user: 'ann' });
    await ds.ingest();
    ds.addClass('animal');
    ds.addClass('vehicle');
  });
  afterAll(() => {
    ds.close();
    data.cleanup();
  });
  beforeEach(() => (env = recordingRuntime()));
  afterEach(() => env.remove());

  it('opens an anywidget model: AnyModel/AnyView from module "anywidget", a range every anywidget front end satisfies, _esm, _css, _anywidget_id', () => {
    const widget = new LabelingWidget(ds, { frontEnd: 'anywidget', app: { esm: STUB_APP, css: '.qs-stub{}' }, embeddings: false });
    const [open] = env.sent;
    expect(open).toMatchObject({ msgType: 'comm_open', metadata: { version: '2.1.0' }, content: { comm_id: widget.id, target_name: 'jupyter.widget' } });
    const state = open!.content.data.state;
    expect(state).toEqual({
      _model_module: 'anywidget',
      _model_module_version: LABELING_ANYWIDGET_FRONT_END.version,
      _model_name: 'AnyModel',
      _view_module: 'anywidget',
      _view_module_version: LABELING_ANYWIDGET_FRONT_END.version,
      _view_name: 'AnyView',
      _view_count: null,
      _esm: STUB_APP,
      _css: '.qs-stub{}',
      _anywidget_id: 'quicksort.LabelingWidget',
      dataset: ds.root,
      user: 'ann',
      protocol: 1,
      prefetch: 8,
      page_size: 40,
      image_prefetch: 4,
      ui: null,
    });
    expect(open!.content.data.buffer_paths).toEqual([]);
    // The widget manager resolves the module with semver against the version the front end registered.
    for (const version of ANYWIDGET_FRONT_END_VERSIONS) expect(semver.satisfies(version, state._model_module_version)).toBe(true);
    expect(semver.satisfies('0.12.0', state._model_module_version)).toBe(false);
    // Shown with the widget-view MIME type (widget protocol 2, "Displaying widgets").
    expect((widget as unknown as { [key: symbol]: () => Record<string, unknown> })[Symbol.for('Jupyter.display')]!()).toEqual({
      [WIDGET_VIEW_MIME_TYPE]: { version_major: 2, version_minor: 0, model_id: widget.id },
      'text/plain': `LabelingWidget(${path.basename(ds.root)})`,
    });
    widget.close();
  });

  it('sends _esm that anywidget can import: an ES module whose default export has render({ model, el })', () => {
    const widget = new LabelingWidget(ds, { frontEnd: 'anywidget', app: { esm: STUB_APP }, embeddings: false });
    const temp = tempDir();
    try {
      // anywidget imports `_esm` from a Blob URL when it is source; an .mjs file is the same for Node.
      const file = path.join(temp.dir, 'app.mjs');
      writeFileSync(file, env.sent[0]!.content.data.state._esm);
      // In a plain Node process: jest's module system cannot import ES modules.
      const probe = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(typeof m.default?.render)`], { encoding: 'utf8' });
      expect(probe.stderr).toBe('');
      expect(probe.stdout.trim()).toBe('function');
    } finally {
      temp.cleanup();
      widget.close();
    }
  });

  it('carries the session protocol as custom messages: hello → welcome and queue; image bytes as a buffer', async () => {
    const widget = new LabelingWidget(ds, { frontEnd: 'anywidget', app: { esm: STUB_APP }, embeddings: false, prefetch: 2 });
    env.sent.length = 0;
    env.runtime.comms.handleMessage(customFromFrontEnd(widget.id, { type: 'hello', requestId: 1 }));
    await env.until(sessionMessage('queue'));
    const contents = env.sent.map((message) => message.content.data);
    expect(env.sent.every((message) => message.msgType === 'comm_msg' && message.content.comm_id === widget.id)).toBe(true);
    expect(contents[0]).toMatchObject({ method: 'custom', content: { type: 'welcome', requestId: 1, protocol: 1, user: 'ann', classes: [{ name: 'animal', key: '1' }, { name: 'vehicle', key: '2' }] } });
    const queue = contents.find((data) => data.content.type === 'queue')!.content;
    expect(queue.items).toHaveLength(3);

    env.sent.length = 0;
    env.runtime.comms.handleMessage(customFromFrontEnd(widget.id, { type: 'image', requestId: 2, itemId: queue.items[0].id, maxSize: 64 }));
    await env.until(sessionMessage('image'));
    const [image] = env.sent;
    expect(image!.content.data).toMatchObject({ method: 'custom', content: { type: 'image', requestId: 2, itemId: queue.items[0].id, mime: expect.stringMatching(/^image\//) } });
    expect(image!.buffers).toHaveLength(1);
    expect(image!.buffers[0]!.length).toBeGreaterThan(100);

    // A label lands in the store, and is acknowledged with the same request id.
    env.sent.length = 0;
    env.runtime.comms.handleMessage(customFromFrontEnd(widget.id, { type: 'label', requestId: 3, itemId: queue.items[0].id, label: 'animal' }));
    await env.until((message) => sessionMessage('ack')(message) && message.content.data.content.requestId === 3);
    expect(env.sent.map((message) => message.content.data.content)).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'ack', requestId: 3 })]));
    expect(ds.item(queue.items[0].id).label).toBe('animal');
    widget.close();
  });

  it('names the quicksort-widget extension by default and sends no module source', () => {
    const widget = new LabelingWidget(ds, { embeddings: false });
    const state = env.sent[0]!.content.data.state;
    expect(state).toMatchObject({ _model_module: 'quicksort-widget', _model_name: 'QuickSortModel', _view_module: 'quicksort-widget', _view_name: 'QuickSortView', _esm: BUNDLED_ESM, _css: '' });
    expect(state._model_module_version).toBe(QUICKSORT_FRONT_END.version);
    // The extension registers its module at its package version, which the kernel's range must accept, and
    // the marker for its bundled app is the same string on both sides.
    const extensionPackage = JSON.parse(readFileSync(path.join(TOOLS, 'extension', 'package.json'), 'utf8'));
    const moduleSource = readFileSync(path.join(TOOLS, 'extension', 'src', 'widget-module.ts'), 'utf8');
    expect(moduleSource).toContain(`export const MODULE_VERSION = '${extensionPackage.version}';`);
    expect(moduleSource).toContain(`export const BUNDLED_ESM = '${BUNDLED_ESM}';`);
    expect(semver.satisfies(extensionPackage.version, QUICKSORT_FRONT_END.version)).toBe(true);
    widget.close();
  });

  it('is what ds.widget() returns once the kernel provides it (as its host does at start-up), with the options passed through', () => {
    expect(() => ds.widget()).toThrow(ProtocolError);
    expect(() => ds.widget()).toThrow(/on the QuickSort kernel.*npx quicksort jupyter install.*npx quicksort serve/);
    expect(env.sent).toEqual([]);
    Dataset.provideWidget(labelingWidget);
    const widget = ds.widget({ embeddings: false, user: 'bob' }) as unknown as LabelingWidget;
    expect(widget).toBeInstanceOf(LabelingWidget);
    expect(env.sent[0]!.content.data.state).toMatchObject({ _model_module: 'quicksort-widget', user: 'bob' });
    widget.close();
  });

  it('rejects an unknown front end with the allowed values', () => {
    expect(() => new LabelingWidget(ds, { frontEnd: 'voila' as never })).toThrow(/frontEnd must be "jupyterlab" or "anywidget"/);
  });
});
