import { createRuntime, installRuntime, type KernelRuntime } from '../../dist/kernel/comms';
import { AnyWidget, CounterWidget, putBuffers, registerWidgetControl, removeBuffers, WIDGET_VIEW_MIME_TYPE } from '../../dist/kernel/widgets';
import { DISPLAY, display } from '../../dist/kernel/display';
import type { JupyterMessage } from '../../dist/kernel/protocol';

/** One IOPub message as the runtime published it. */
interface Sent {
  msgType: string;
  content: Record<string, any>;
  metadata?: Record<string, unknown>;
  buffers: number[][];
}

/** A kernel runtime whose IOPub is a list, so tests can assert exact payloads (as anywidget's Deno tests do). */
function recordingRuntime(): { runtime: KernelRuntime; sent: Sent[]; logs: string[]; warnings: string[]; remove: () => void } {
  const sent: Sent[] = [];
  const logs: string[] = [];
  const warnings: string[] = [];
  const runtime = createRuntime(
    (msgType, content, options = {}) => sent.push({ msgType, content, metadata: options.metadata, buffers: (options.buffers ?? []).map((b) => [...b]) }),
    (message) => logs.push(message),
    (message) => warnings.push(message),
  );
  return { runtime, sent, logs, warnings, remove: installRuntime(runtime) };
}

let seq = 0;
/** A message from a front end, as the host hands it to the comm manager. */
function fromFrontEnd(msgType: string, content: Record<string, unknown>, buffers: Uint8Array[] = []): JupyterMessage {
  return {
    identities: [],
    header: { msg_id: `front-${++seq}`, msg_type: msgType, session: 's', username: 'u', date: new Date().toISOString(), version: '5.3' },
    parent_header: {},
    metadata: {},
    content,
    buffers: buffers.map((b) => Buffer.from(b)),
  };
}

class Image extends AnyWidget<{ title: string; pixels: Uint8Array; tiles: (Uint8Array | null)[]; meta: { shape: number[]; data?: Uint8Array } }, { type: 'ping' }, { type: 'pong'; n: number }> {
  constructor() {
    super({
      esm: 'export default { render() {} }',
      state: { title: 'a', pixels: new Uint8Array([1, 2]), tiles: [new Uint8Array([3]), null], meta: { shape: [1, 2], data: new Uint8Array([4]) } },
      noEcho: ['pixels'],
    });
  }
}

describe('widget state and buffers (widget protocol 2)', () => {
  it('moves binary values anywhere in the state to buffers: list items become null, object keys disappear', () => {
    const state = { a: 1, img: new Uint8Array([1]), list: [2, new Uint16Array([0x0302])], nested: { deep: [new Uint8Array([4]).buffer] } };
    const { state: json, bufferPaths, buffers } = removeBuffers(state);
    expect(json).toEqual({ a: 1, list: [2, null], nested: { deep: [null] } });
    expect(bufferPaths).toEqual([['img'], ['list', 1], ['nested', 'deep', 0]]);
    expect(buffers.map((b) => [...b])).toEqual([[1], [2, 3], [4]]);
    expect(state.img).toBeInstanceOf(Uint8Array); // the input is untouched

    const back = putBuffers(json, bufferPaths, buffers);
    expect(back).toEqual({ a: 1, img: buffers[0], list: [2, buffers[1]], nested: { deep: [buffers[2]] } });
    expect(() => putBuffers({}, [['a']], [])).toThrow(/pair one to one/);
    expect(() => putBuffers({}, [['a', 'b']], [new Uint8Array(1)])).toThrow(/leads nowhere/);
  });
});

describe('AnyWidget', () => {
  let env: ReturnType<typeof recordingRuntime>;
  beforeEach(() => {
    env = recordingRuntime();
  });
  afterEach(() => env.remove());

  it('opens its model with comm_open to jupyter.widget: the whole state, buffers at buffer_paths, protocol 2.1', () => {
    const widget = new Image();
    expect(env.sent).toHaveLength(1);
    const [open] = env.sent;
    expect(open!.msgType).toBe('comm_open');
    expect(open!.metadata).toEqual({ version: '2.1.0' });
    expect(open!.content.target_name).toBe('jupyter.widget');
    expect(open!.content.comm_id).toBe(widget.id);
    expect(open!.content.data.state).toEqual({
      _model_module: 'anywidget',
      _model_module_version: '~0.9.*',
      _model_name: 'AnyModel',
      _view_module: 'anywidget',
      _view_module_version: '~0.9.*',
      _view_name: 'AnyView',
      _view_count: null,
      _esm: 'export default { render() {} }',
      _css: '',
      _anywidget_id: 'quicksort.Image',
      title: 'a',
      tiles: [null, null],
      meta: { shape: [1, 2] },
    });
    expect(open!.content.data.buffer_paths).toEqual([['pixels'], ['tiles', 0], ['meta', 'data']]);
    expect(open!.buffers).toEqual([[1, 2], [3], [4]]);
    expect(env.runtime.widgets.get(widget.id)).toBe(widget);
  });

  it('sends kernel-side changes as one update with only what changed, and runs listeners', () => {
    const widget = new Image();
    const seen: unknown[] = [];
    widget.on('change:title', (value, change) => seen.push([value, change.previous, change.origin]));
    widget.on('change', (changes, origin) => seen.push([Object.keys(changes), origin]));
    env.sent.length = 0;
    widget.set({ title: 'b', pixels: new Uint8Array([9]) });
    widget.set('title', 'b'); // unchanged: nothing sent
    expect(env.sent).toEqual([{ msgType: 'comm_msg', content: { comm_id: widget.id, data: { method: 'update', state: { title: 'b' }, buffer_paths: [['pixels']] } }, metadata: undefined, buffers: [[9]] }]);
    expect(seen).toEqual([['b', 'a', 'kernel'], [['title', 'pixels'], 'kernel']]);
  });

  it('applies a front-end update with buffers, echoes it first (2.1 echo_update), and ignores unknown and protocol keys', () => {
    const widget = new Image();
    const seen: unknown[] = [];
    widget.on('change:pixels', (value, change) => seen.push([[...value], change.origin]));
    env.sent.length = 0;
    env.runtime.comms.handleMessage(
      fromFrontEnd('comm_msg', { comm_id: widget.id, data: { method: 'update', state: { title: 'z', stranger: 1, _esm: 'x', meta: { shape: [3] } }, buffer_paths: [['pixels'], ['meta', 'data']] } }, [new Uint8Array([7, 7]), new Uint8Array([8])]),
    );
    expect(widget.get('title')).toBe('z');
    expect([...widget.get('pixels')]).toEqual([7, 7]);
    expect(widget.get('meta')).toEqual({ shape: [3], data: Buffer.from([8]) });
    expect(seen).toEqual([[[7, 7], 'front-end']]);
    // pixels is noEcho: the echo carries the rest.
    expect(env.sent).toEqual([
      { msgType: 'comm_msg', content: { comm_id: widget.id, data: { method: 'echo_update', state: { title: 'z', meta: { shape: [3] } }, buffer_paths: [['meta', 'data']] } }, metadata: undefined, buffers: [[8]] },
    ]);
    expect(env.logs.join('\n')).toMatch(/ignored front-end update of stranger, _esm/);
  });

  it('answers request_state with the full state', () => {
    const widget = new Image();
    env.sent.length = 0;
    env.runtime.comms.handleMessage(fromFrontEnd('comm_msg', { comm_id: widget.id, data: { method: 'request_state' } }));
    expect(env.sent).toHaveLength(1);
    const data = env.sent[0]!.content.data;
    expect(data.method).toBe('update');
    expect(data.state).toMatchObject({ _model_name: 'AnyModel', _esm: 'export default { render() {} }', title: 'a', tiles: [null, null] });
    expect(data.buffer_paths).toEqual([['pixels'], ['tiles', 0], ['meta', 'data']]);
    expect(env.sent[0]!.buffers).toEqual([[1, 2], [3], [4]]);
  });

  it('carries custom messages with buffers both ways', () => {
    const widget = new Image();
    const received: unknown[] = [];
    widget.on('msg:custom', (content, buffers) => received.push([content, buffers.map((b) => [...b])]));
    env.sent.length = 0;
    widget.send({ type: 'ping' }, [new Uint8Array([1, 2, 3])]);
    env.runtime.comms.handleMessage(fromFrontEnd('comm_msg', { comm_id: widget.id, data: { method: 'custom', content: { type: 'pong', n: 2 } } }, [new Uint8Array([5])]));
    expect(env.sent).toEqual([{ msgType: 'comm_msg', content: { comm_id: widget.id, data: { method: 'custom', content: { type: 'ping' } } }, metadata: undefined, buffers: [[1, 2, 3]] }]);
    expect(received).toEqual([[{ type: 'pong', n: 2 }, [[5]]]]);
  });

  it('returns every live state through jupyter.widget.control (request_states → update_states)', () => {
    registerWidgetControl(env.runtime);
    const image = new Image();
    const counter = new CounterWidget(4);
    env.runtime.comms.handleOpen(fromFrontEnd('comm_open', { comm_id: 'control-1', target_name: 'jupyter.widget.control', data: {} }));
    env.sent.length = 0;
    env.runtime.comms.handleMessage(fromFrontEnd('comm_msg', { comm_id: 'control-1', data: { method: 'request_states' } }));
    expect(env.sent).toHaveLength(1);
    const data = env.sent[0]!.content.data;
    expect(env.sent[0]!.content.comm_id).toBe('control-1');
    expect(data.method).toBe('update_states');
    expect(Object.keys(data.states)).toEqual([image.id, counter.id]);
    expect(data.states[counter.id]).toMatchObject({ model_name: 'AnyModel', model_module: 'anywidget', model_module_version: '~0.9.*', state: { count: 4, _model_name: 'AnyModel' } });
    expect(data.buffer_paths).toEqual([[image.id, 'state', 'pixels'], [image.id, 'state', 'tiles', 0], [image.id, 'state', 'meta', 'data']]);
    expect(env.sent[0]!.buffers).toEqual([[1, 2], [3], [4]]);
  });

  it('closes from the kernel (comm_close) or from a front end, and then stops sending', () => {
    const a = new Image();
    const b = new CounterWidget();
    const closed: string[] = [];
    a.on('close', () => closed.push('a'));
    b.on('close', () => closed.push('b'));
    env.sent.length = 0;
    a.close();
    env.runtime.comms.handleClose(fromFrontEnd('comm_close', { comm_id: b.id, data: {} }));
    expect(env.sent).toEqual([{ msgType: 'comm_close', content: { comm_id: a.id, data: {} }, metadata: undefined, buffers: [] }]);
    expect(closed).toEqual(['a', 'b']);
    expect(a.closed && b.closed).toBe(true);
    expect(env.runtime.widgets.size).toBe(0);
    expect(() => a.send({ type: 'ping' })).toThrow(/is closed/);
    b.increment(); // a closed widget keeps its state locally
    expect(b.count).toBe(1);
    expect(env.sent).toHaveLength(1);
  });

  it('shows as application/vnd.jupyter.widget-view+json, through display() too', () => {
    const counter = new CounterWidget(2);
    expect(counter[DISPLAY]()).toEqual({ [WIDGET_VIEW_MIME_TYPE]: { version_major: 2, version_minor: 0, model_id: counter.id }, 'text/plain': 'CounterWidget(count=2)' });
    env.sent.length = 0;
    const handle = display(counter);
    expect(env.sent).toEqual([{ msgType: 'display_data', content: { data: counter[DISPLAY](), metadata: {}, transient: { display_id: handle.id } }, metadata: undefined, buffers: [] }]);
  });

  it('resets the counter on its custom reset message; listener failures are reported, not thrown into the kernel', () => {
    const counter = new CounterWidget(3);
    counter.on('change:count', () => {
      throw new Error('listener bug');
    });
    env.runtime.comms.handleMessage(fromFrontEnd('comm_msg', { comm_id: counter.id, data: { method: 'custom', content: { type: 'reset' } } }));
    expect(counter.count).toBe(0);
    expect(env.warnings.join('\n')).toMatch(/change:count listener threw: Error: listener bug/);
  });

  it('stops listening when the AbortSignal aborts', () => {
    const counter = new CounterWidget();
    const controller = new AbortController();
    const seen: number[] = [];
    counter.on('change:count', (count) => seen.push(count), { signal: controller.signal });
    counter.increment();
    controller.abort();
    counter.increment();
    expect(seen).toEqual([1]);
  });

  it('refuses reserved keys and explains what a widget needs', () => {
    expect(() => new AnyWidget({ esm: '', state: {} })).toThrow(/needs `esm`/);
    expect(() => new AnyWidget({ esm: 'x', state: { _esm: 1 } })).toThrow(/reserved/);
  });
});

describe('outside the kernel', () => {
  it('says how to get a kernel', () => {
    expect(() => new CounterWidget()).toThrow(/need the QuickSort Jupyter kernel.*TypeScript \(QuickSort\)/);
  });
});
