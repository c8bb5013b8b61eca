import type { JupyterMessage } from '../../dist/kernel/protocol';
import { collect, logged, parentId, printed, startKernel, type RunningKernel } from './kernel-helpers';

/**
 * Comms and the widget protocol 2.1 through the real kernel process, with a client playing the front end
 * (messaging spec "Custom messages"; ipywidgets packages/schema/messages.md).
 */
describe('comms and widgets in the kernel process', () => {
  let k: RunningKernel;
  let modelId: string;

  const data = (message: JupyterMessage) => (message.content as { data: Record<string, any> }).data;
  const bytes = (message: JupyterMessage) => message.buffers.map((buffer) => [...buffer]);
  /** The next comm_msg on the model's comm that answers `request` and has `method`. */
  const answer = (requestId: string, method: string, commId = modelId) =>
    k.client.nextIopub((m) => m.header.msg_type === 'comm_msg' && (m.content as any).comm_id === commId && parentId(m) === requestId && data(m).method === method, 10000);
  const sendToModel = (payload: Record<string, unknown>, buffers: Uint8Array[] = []) =>
    k.client.send('shell', 'comm_msg', { comm_id: modelId, data: payload }, { buffers });

  beforeAll(async () => {
    k = await startKernel();
  });
  afterAll(async () => {
    expect(k.client.rejected).toEqual([]);
    await k.stop();
  });

  it('opens a widget from a cell: comm_open with the state, binary values at buffer_paths, protocol 2.1', async () => {
    const opens = collect(k.client, (m) => m.header.msg_type === 'comm_open');
    const run = await k.client.execute(`
import { AnyWidget } from "quicksort/kernel";
type ProbeState = { label: string; thumb: Uint8Array; clicks: number };
class Probe extends AnyWidget<ProbeState, { echo: number[] }, { kind: string }> {}
const probe = new Probe({ esm: "export default { render() {} }", state: { label: "start", thumb: new Uint8Array([1, 2, 3]), clicks: 0 } });
const changes: string[] = [];
probe.on("change:label", (value, change) => changes.push(change.origin + ":" + value));
probe.on("msg:custom", (content, buffers) => probe.send({ echo: buffers.map((b) => b.length) }, buffers.map((b) => Buffer.from(b).reverse())));
probe.id`);
    opens.stop();
    expect(run.reply.content).toMatchObject({ status: 'ok' });
    modelId = run.result!;
    const open = opens.messages.find((m) => (m.content as any).comm_id === modelId)!;
    expect(open).toBeDefined();
    expect(parentId(open)).toBe(parentId(run.reply));
    expect(open.metadata).toEqual({ version: '2.1.0' });
    expect((open.content as any).target_name).toBe('jupyter.widget');
    expect(data(open).state).toMatchObject({ _model_name: 'AnyModel', _view_name: 'AnyView', label: 'start', clicks: 0 });
    expect(data(open).state).not.toHaveProperty('thumb');
    expect(data(open).buffer_paths).toEqual([['thumb']]);
    expect(bytes(open)).toEqual([[1, 2, 3]]);
  });

  it('lists the open comms on comm_info_request, filtered by target', async () => {
    const all = await k.client.request('shell', 'comm_info_request', {});
    expect(all.content).toMatchObject({ status: 'ok', comms: { [modelId]: { target_name: 'jupyter.widget' } } });
    const none = await k.client.request('shell', 'comm_info_request', { target_name: 'something.else' });
    expect(none.content).toEqual({ status: 'ok', comms: {} });
  });

  it('applies a front-end update with a binary buffer to the model, and echoes it (echo_update) parented to it', async () => {
    const header = sendToModel({ method: 'update', state: { label: 'from client' }, buffer_paths: [['thumb']] }, [new Uint8Array([9, 9, 9, 9])]);
    const echo = await answer(header.msg_id, 'echo_update');
    expect(data(echo).state).toEqual({ label: 'from client' });
    expect(data(echo).buffer_paths).toEqual([['thumb']]);
    expect(bytes(echo)).toEqual([[9, 9, 9, 9]]);
    const run = await k.client.execute('JSON.stringify([probe.get("label"), [...probe.get("thumb")], changes])');
    expect(JSON.parse(run.result!)).toEqual(['from client', [9, 9, 9, 9], ['front-end:from client']]);
  });

  it('sends kernel-side changes to the front end as update', async () => {
    const updates = collect(k.client, (m) => m.header.msg_type === 'comm_msg' && data(m).method === 'update');
    const run = await k.client.execute('probe.set({ label: "from kernel", thumb: new Uint8Array([5]) })');
    updates.stop();
    expect(updates.messages).toHaveLength(1);
    const [update] = updates.messages;
    expect(parentId(update!)).toBe(parentId(run.reply));
    expect(data(update!)).toEqual({ method: 'update', state: { label: 'from kernel' }, buffer_paths: [['thumb']] });
    expect(bytes(update!)).toEqual([[5]]);
  });

  it('answers request_state with the full state, parented to the request', async () => {
    const header = sendToModel({ method: 'request_state' });
    const update = await answer(header.msg_id, 'update');
    expect(data(update).state).toMatchObject({ _esm: 'export default { render() {} }', label: 'from kernel', clicks: 0 });
    expect(data(update).buffer_paths).toEqual([['thumb']]);
    expect(bytes(update)).toEqual([[5]]);
  });

  it('carries custom messages with buffers both ways', async () => {
    const header = sendToModel({ method: 'custom', content: { kind: 'mirror' } }, [new Uint8Array([1, 2, 3]), new Uint8Array(256 * 1024).fill(7)]);
    const reply = await answer(header.msg_id, 'custom');
    expect(data(reply).content).toEqual({ echo: [3, 256 * 1024] });
    expect(bytes(reply)[0]).toEqual([3, 2, 1]);
    expect(reply.buffers[1]!.length).toBe(256 * 1024);
  });

  it('returns all widget states to a reconnecting front end (jupyter.widget.control: request_states → update_states)', async () => {
    k.client.send('shell', 'comm_open', { comm_id: 'control-comm', target_name: 'jupyter.widget.control', data: {} });
    const header = k.client.send('shell', 'comm_msg', { comm_id: 'control-comm', data: { method: 'request_states' } });
    const states = await answer(header.msg_id, 'update_states', 'control-comm');
    expect(data(states).states[modelId]).toMatchObject({ model_name: 'AnyModel', model_module: 'anywidget', state: { label: 'from kernel', _model_name: 'AnyModel' } });
    expect(data(states).buffer_paths).toEqual(expect.arrayContaining([[modelId, 'state', 'thumb']]));
    const index = (data(states).buffer_paths as unknown[][]).findIndex((path) => path[0] === modelId);
    expect([...states.buffers[index]!]).toEqual([5]);
  });

  it('handles messages that arrive while a cell blocks, in order, when it ends', async () => {
    const echoes = collect(k.client, (m) => m.header.msg_type === 'comm_msg' && data(m).method === 'echo_update');
    // Said straight to the kernel's stderr: captured output waits for the event loop, which the cell blocks.
    const blocked = logged(k.kernel, /blocking-now/);
    const blocking = k.client.execute('require("node:fs").writeSync(2, "blocking-now\\n");\nconst until = Date.now() + 1200;\nwhile (Date.now() < until) {}\n"done"');
    await blocked;
    const sent = ['b1', 'b2', 'b3'].map((label) => sendToModel({ method: 'update', state: { label }, buffer_paths: [] }).msg_id);
    const run = await blocking;
    expect(run.result).toBe('done');
    await echoes.until(() => echoes.messages.length === 3);
    echoes.stop();
    expect(echoes.messages.map((m) => parentId(m))).toEqual(sent);
    const after = await k.client.execute('changes.slice(-3).join(",")');
    expect(after.result).toBe('front-end:b1,front-end:b2,front-end:b3');
  });

  it('lets an awaiting cell receive front-end messages (they are handled when the cell yields)', async () => {
    const listening = printed(k.client, 'listening-for-pick');
    const waiting = k.client.execute(
      'const picked = await new Promise<string>((resolve) => { probe.on("msg:custom", (content) => resolve(content.kind)); console.log("listening-for-pick"); });\n"picked " + picked',
    );
    await listening;
    sendToModel({ method: 'custom', content: { kind: 'cat' } });
    expect((await waiting).result).toBe('picked cat');
  });

  it('opens comms from the front end to a target a cell registered, both ways, and closes them', async () => {
    await k.client.execute(`
import { registerCommTarget } from "quicksort/kernel";
let frontEndClosed = false;
registerCommTarget("echo", (comm, open) => {
  comm.send({ hello: open.data });
  comm.onMessage(({ data, buffers }) => comm.send({ back: data }, { buffers }));
  comm.onClose(() => { frontEndClosed = true; });
});`);
    const open = k.client.send('shell', 'comm_open', { comm_id: 'echo-1', target_name: 'echo', data: { a: 1 } });
    const hello = await k.client.nextIopub((m) => m.header.msg_type === 'comm_msg' && parentId(m) === open.msg_id);
    expect(hello.content).toEqual({ comm_id: 'echo-1', data: { hello: { a: 1 } } });
    const message = k.client.send('shell', 'comm_msg', { comm_id: 'echo-1', data: { x: 2 } }, { buffers: [new Uint8Array([4, 2])] });
    const back = await k.client.nextIopub((m) => m.header.msg_type === 'comm_msg' && parentId(m) === message.msg_id);
    expect(back.content).toEqual({ comm_id: 'echo-1', data: { back: { x: 2 } } });
    expect(bytes(back)).toEqual([[4, 2]]);
    // Shell messages are handled in order: the close is handled before the next cell runs.
    k.client.send('shell', 'comm_close', { comm_id: 'echo-1', data: {} });
    expect((await k.client.execute('frontEndClosed')).result).toBe('true');
  });

  it('closes a comm opened to a target nobody registered (as ipykernel does)', async () => {
    const open = k.client.send('shell', 'comm_open', { comm_id: 'lost-1', target_name: 'nobody.home', data: {} });
    const close = await k.client.nextIopub((m) => m.header.msg_type === 'comm_close' && parentId(m) === open.msg_id);
    expect(close.content).toEqual({ comm_id: 'lost-1', data: {} });
  });

  it('closes widgets from either side', async () => {
    k.client.send('shell', 'comm_close', { comm_id: modelId, data: {} });
    const closes = collect(k.client, (m) => m.header.msg_type === 'comm_close');
    const run = await k.client.execute(`
import { CounterWidget } from "quicksort/kernel";
const other = new CounterWidget();
other.close();
JSON.stringify([probe.closed, other.closed, other.id])`);
    closes.stop();
    const [probeClosed, otherClosed, otherId] = JSON.parse(run.result!);
    expect([probeClosed, otherClosed]).toEqual([true, true]);
    expect(closes.messages.map((m) => (m.content as any).comm_id)).toEqual([otherId]);
    const info = await k.client.request('shell', 'comm_info_request', { target_name: 'jupyter.widget' });
    expect(info.content).toEqual({ status: 'ok', comms: {} });
  });
});
