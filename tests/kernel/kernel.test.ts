import { randomUUID } from 'node:crypto';
import type { JupyterMessage } from '../../dist/kernel/protocol';
import { collect, isIdleFor, logged, parentId, printed, startKernel, type RunningKernel } from './kernel-helpers';

/**
 * The kernel process driven over ZeroMQ with signed messages, as a Jupyter server drives it
 * (messaging spec, "Messages on the shell (ROUTER/DEALER) channel" and "Messages on the IOPub channel").
 */
describe('the QuickSort kernel process', () => {
  let k: RunningKernel;
  beforeAll(async () => {
    k = await startKernel();
  });
  afterAll(async () => {
    expect(k.client.rejected).toEqual([]); // every message the kernel sent verified against the key
    await k.stop();
  });

  it('answers kernel_info with protocol 5.3 and TypeScript, between busy and idle statuses parented to the request', async () => {
    const statuses = collect(k.client, (m) => m.header.msg_type === 'status');
    const reply = await k.client.request('shell', 'kernel_info_request', {});
    await statuses.until(isIdleFor(parentId(reply)));
    statuses.stop();
    expect(reply.header.msg_type).toBe('kernel_info_reply');
    expect(reply.content).toMatchObject({
      status: 'ok',
      protocol_version: '5.3',
      implementation: 'quicksort',
      language_info: { name: 'typescript', mimetype: 'text/typescript', file_extension: '.ts' },
    });
    expect((reply.content as any).language_info.version).toMatch(/^5\.0\./);
    const mine = statuses.messages.filter((m) => parentId(m) === parentId(reply));
    expect(mine.map((m) => (m.content as any).execution_state)).toEqual(['busy', 'idle']);
  });

  it('runs TypeScript cells: values, declarations kept from cell to cell, stdout, execution counts', async () => {
    const first = await k.client.execute('const greeting: string = "hello";\nconsole.log(greeting, "world");\n40 + 2');
    expect(first.reply.content).toMatchObject({ status: 'ok', payload: [], user_expressions: {} });
    expect(first.stdout).toBe('hello world\n');
    expect(first.result).toBe('42');
    const count = (first.reply.content as any).execution_count as number;
    const kinds = first.messages.map((m) => m.header.msg_type);
    expect(kinds[0]).toBe('status');
    expect(kinds[1]).toBe('execute_input');
    expect(kinds.slice(-1)).toEqual(['status']);
    expect(kinds.indexOf('stream')).toBeLessThan(kinds.indexOf('execute_result'));

    const second = await k.client.execute('greeting.toUpperCase()');
    expect(second.result).toBe('HELLO');
    expect((second.reply.content as any).execution_count).toBe(count + 1);
    const result = second.messages.find((m) => m.header.msg_type === 'execute_result')!;
    expect((result.content as any).execution_count).toBe(count + 1);
    expect((await k.client.execute('({ a: 1, list: [1, 2] })')).result).toBe('{ a: 1, list: [ 1, 2 ] }');
  });

  it('awaits at the top level', async () => {
    const run = await k.client.execute('const late = await new Promise<number>((resolve) => setTimeout(() => resolve(7), 50));\nlate * 6');
    expect(run.result).toBe('42');
  });

  it('reports a runtime error with a readable traceback: name, message, the cell frames, the causes', async () => {
    const run = await k.client.execute('function load(): never {\n  throw new RangeError("no such image", { cause: new Error("disk gone") });\n}\nload();');
    expect(run.reply.content).toMatchObject({ status: 'error', ename: 'RangeError', evalue: 'no such image' });
    expect(run.error!.traceback[0]).toBe('RangeError: no such image');
    expect(run.error!.traceback).toContain('    at load (<cell>)');
    expect(run.error!.traceback).toContain('Caused by Error: disk gone');
    expect(run.error!.traceback.join('\n')).not.toMatch(/node:vm|tslab|dist\/kernel/);
  });

  it('reports a type error with the offending line and a caret, and does not run the cell', async () => {
    const run = await k.client.execute('globalThis.ran = true;\nconst n: number = "seven";');
    expect(run.reply.content).toMatchObject({ status: 'error', ename: 'CompileError' });
    expect(run.error!.traceback).toEqual([
      'CompileError: the cell does not compile (1 TypeScript error)',
      '   2 | const n: number = "seven";',
      "     |       ^ Type 'string' is not assignable to type 'number'.",
    ]);
    expect((await k.client.execute('typeof (globalThis as any).ran')).result).toBe('undefined');
  });

  it('aborts the cells queued behind a failing one (stop_on_error)', async () => {
    const failing = k.client.execute('throw new Error("first fails")');
    const queued = k.client.execute('"never runs"');
    expect((await failing).reply.content).toMatchObject({ status: 'error' });
    expect((await queued).reply.content).toMatchObject({ status: 'aborted' });
    expect((await k.client.execute('"runs again"')).result).toBe('runs again');
  });

  it('shows rich output: display() with HTML and images, update by display id, and tslab.display', async () => {
    const run = await k.client.execute(
      [
        'import { display, html, image } from "quicksort/kernel";',
        'import * as tslab from "tslab";',
        'const handle = display(html("<b>one</b>"));',
        'handle.update(html("<b>two</b>"));',
        'display(image(new Uint8Array([137, 80, 78, 71])));',
        'tslab.display.markdown("*three*");',
        'html("<i>last</i>")',
      ].join('\n'),
    );
    expect(run.reply.content).toMatchObject({ status: 'ok' });
    const outputs = run.messages.filter((m) => ['display_data', 'update_display_data', 'execute_result'].includes(m.header.msg_type));
    expect(outputs.map((m) => [m.header.msg_type, Object.keys((m.content as any).data).sort()])).toEqual([
      ['display_data', ['text/html', 'text/plain']],
      ['update_display_data', ['text/html', 'text/plain']],
      ['display_data', ['image/png', 'text/plain']],
      ['display_data', ['text/markdown']],
      ['execute_result', ['text/html', 'text/plain']],
    ]);
    const [shown, updated, png] = outputs.map((m) => m.content as any);
    expect(updated.transient.display_id).toBe(shown.transient.display_id);
    expect(updated.data['text/html']).toBe('<b>two</b>');
    expect(png.data['image/png']).toBe(Buffer.from([137, 80, 78, 71]).toString('base64'));
  });

  it('draws a progress bar from any engine progress report, updated in place, finished at the total', async () => {
    const run = await k.client.execute(
      [
        'import { progress } from "quicksort/kernel";',
        'const bar = progress("Embedding", { unit: "images", intervalMs: 0 });',
        'bar({ done: 0, total: 4 });',
        'bar({ done: 2, total: 4 });',
        'bar({ done: 4, total: 4 });',
        'bar({ done: 4, total: 4 });',
        'const walk = progress("Ingesting", { intervalMs: 0 });',
        'walk({ found: 10, done: 3, walking: true });',
        'walk.finish();',
      ].join('\n'),
    );
    expect(run.reply.content).toMatchObject({ status: 'ok' });
    const outputs = run.messages
      .filter((m) => ['display_data', 'update_display_data'].includes(m.header.msg_type))
      .map((m) => ({ type: m.header.msg_type, id: (m.content as any).transient.display_id, text: (m.content as any).data['text/plain'] as string, html: (m.content as any).data['text/html'] as string }));
    expect(outputs.map((o) => o.type)).toEqual(['display_data', 'update_display_data', 'update_display_data', 'display_data', 'update_display_data']);
    const [first, half, done, walking, walked] = outputs;
    expect(new Set([first!.id, half!.id, done!.id]).size).toBe(1); // one output, updated in place
    expect(walking!.id).not.toBe(first!.id);
    expect(first!.text).toMatch(/^Embedding \[\.{30}\] 0 \/ 4 images/);
    expect(half!.text).toMatch(/^Embedding \[#{15}\.{15}\] 2 \/ 4 images/);
    expect(done!.text).toMatch(/^Embedding \[#{30}\] 4 \/ 4 images · .*done in /); // the repeat after the end changed nothing
    expect(half!.html).toContain('<progress style="width:16em" max="1" value="0.5">');
    expect(walking!.text).toMatch(/^Ingesting \[\?{30}\] 3 items · .*finding files$/); // total unknown while walking
    expect(walked!.text).toMatch(/done in/);
  });

  it('imports the engine as `quicksort` with its full types, checked by tslab', async () => {
    const run = await k.client.execute('import { QuickSort, Dataset } from "quicksort";\nconst ds: Dataset = await QuickSort.open(".");\nds.stats().items');
    expect(run.reply.content).toMatchObject({ status: 'ok' });
    expect(run.result).toBe('0');
    const wrong = await k.client.execute('const label: number = ds.items()[0]?.uri;');
    expect(wrong.error?.evalue).toMatch(/Type 'string( \| undefined)?' is not assignable to type 'number'/);
    const code = 'ds.lab';
    const completion = await k.client.request('shell', 'complete_request', { code, cursor_pos: code.length });
    expect((completion.content as any).matches).toEqual(expect.arrayContaining(['label', 'labelMany']));
    await k.client.execute('ds.close()');
  });

  it('completes at a cursor counted in Unicode code points (protocol 5.2+), not UTF-16 units', async () => {
    const code = 'const mood = "😀😀";\nmood.toUpp';
    const cursor = [...code].length; // 2 fewer than code.length
    const reply = await k.client.request('shell', 'complete_request', { code, cursor_pos: cursor });
    expect(reply.content).toMatchObject({ status: 'ok', cursor_end: cursor, cursor_start: cursor - 'toUpp'.length });
    expect((reply.content as any).matches).toContain('toUpperCase');
  });

  it('inspects the symbol under the cursor', async () => {
    const reply = await k.client.request('shell', 'inspect_request', { code: 'Math.max', cursor_pos: 7, detail_level: 0 });
    expect(reply.content).toMatchObject({ status: 'ok', found: true });
    expect((reply.content as any).data['text/plain']).toMatch(/max\(\.\.\.values: number\[\]\): number/);
  });

  it('tells complete from incomplete code', async () => {
    const incomplete = await k.client.request('shell', 'is_complete_request', { code: 'for (let i = 0; i < 3; i++) {' });
    expect(incomplete.content).toMatchObject({ status: 'incomplete' });
    expect((incomplete.content as any).indent).toBe('  ');
    expect((await k.client.request('shell', 'is_complete_request', { code: 'const x = 1;' })).content).toEqual({ status: 'complete' });
  });

  it('interrupts an awaiting cell on interrupt_request (control channel) and keeps running', async () => {
    const waiting = printed(k.client, 'awaiting-forever');
    const running = k.client.execute('console.log("awaiting-forever");\nawait new Promise(() => {}); "unreachable"');
    await waiting;
    const reply = await k.client.request('control', 'interrupt_request', {});
    expect(reply.content).toEqual({ status: 'ok' });
    const run = await running;
    expect(run.reply.content).toMatchObject({ status: 'error', ename: 'Interrupted' });
    expect((await k.client.execute('1 + 1')).result).toBe('2');
  });

  it('interrupts a blocking cell on SIGINT (interrupt_mode "signal"), answering heartbeats meanwhile', async () => {
    // Written straight to the kernel's stderr: captured output is sent when the event loop turns, which a
    // spinning cell never lets happen.
    const spinning = logged(k.kernel, /spinning-now/);
    const running = k.client.execute('require("node:fs").writeSync(2, "spinning-now\\n");\nlet spins = 0;\nwhile (true) { spins++; }');
    await spinning;
    expect(await k.client.heartbeat(1500)).toBe(true); // the heartbeat thread answers while the main thread spins
    process.kill(k.kernel.child.pid!, 'SIGINT');
    const run = await running;
    expect(run.reply.content).toMatchObject({ status: 'error', ename: 'Interrupted' });
    expect((await k.client.execute('"alive"')).result).toBe('alive');
  });

  it('rejects a message with a wrong signature: logged, not executed, not answered', async () => {
    const marker = `evil_${randomUUID().replace(/-/g, '')}`;
    const { header, frames } = k.client.encode('execute_request', { code: `(globalThis as any).${marker} = 1`, silent: false });
    const signatureIndex = frames.findIndex((frame) => frame.toString() === '<IDS|MSG>') + 1;
    frames[signatureIndex] = Buffer.from('0'.repeat(64));
    const answers = collect(k.client, (m: JupyterMessage) => parentId(m) === header.msg_id);
    const rejected = logged(k.kernel, /rejected a shell message: quicksort kernel: invalid message signature/);
    k.client.sendRaw('shell', frames);
    await rejected;
    // Shell requests are handled in order: by this reply, any answer to the forged one would have been sent.
    expect((await k.client.execute(`typeof (globalThis as any).${marker}`)).result).toBe('undefined');
    answers.stop();
    expect(answers.messages).toEqual([]);
  });
});
