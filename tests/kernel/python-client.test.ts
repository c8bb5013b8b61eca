import { spawnSync } from 'node:child_process';
import { startKernelProcess, type KernelProcess } from '../../dist/kernel/client';
import { PYTHON, requireJupyterTools } from './jupyter-tools';

/**
 * jupyter_client — the reference implementation a Jupyter server uses — drives the kernel: it verifies every
 * signature, binary buffers included (which tslab's own kernel gets wrong).
 */
const SCRIPT = String.raw`
import json, sys
from jupyter_client import BlockingKernelClient

kc = BlockingKernelClient(connection_file=sys.argv[1])
kc.load_connection_file()
# Without a KernelManager, jupyter_client judges liveness by a heartbeat channel that starts paused and calls
# the kernel dead if the first kernel_info takes over a second (a loaded CI machine); it is not what we test.
kc.start_channels(hb=False)
kc.wait_for_ready(timeout=60)
out = {}

def shell_reply(msg_id):
    # wait_for_ready may have sent several kernel_info_requests: skip their late replies.
    while True:
        m = kc.get_shell_msg(timeout=60)
        if m['parent_header'].get('msg_id') == msg_id:
            return m

def until_idle(msg_id):
    seen = []
    while True:
        m = kc.get_iopub_msg(timeout=60)
        if m['parent_header'].get('msg_id') != msg_id:
            continue
        seen.append(m)
        if m['msg_type'] == 'status' and m['content']['execution_state'] == 'idle':
            return seen

code = '''import { registerCommTarget } from "quicksort/kernel";
registerCommTarget("py", (comm) => comm.onMessage(({ data, buffers }) => comm.send({ got: data, sizes: buffers.map((b) => b.length) }, { buffers: buffers.map((b) => Buffer.from(b).reverse()) })));
6 * 7'''
msg_id = kc.execute(code)
reply = shell_reply(msg_id)
seen = until_idle(msg_id)
out['execute'] = {
    'status': reply['content']['status'],
    'result': [m['content']['data']['text/plain'] for m in seen if m['msg_type'] == 'execute_result'],
}

kc.session.send(kc.shell_channel.socket, 'comm_open', {'comm_id': 'py-1', 'target_name': 'py', 'data': {}})
sent = kc.session.send(kc.shell_channel.socket, 'comm_msg', {'comm_id': 'py-1', 'data': {'x': 1}}, buffers=[b'\x01\x02\x03', bytes(100000)])
while True:
    m = kc.get_iopub_msg(timeout=30)
    if m['msg_type'] == 'comm_msg' and m['parent_header'].get('msg_id') == sent['header']['msg_id']:
        out['comm'] = {'content': m['content'], 'first': bytes(m['buffers'][0]).hex(), 'second': len(m['buffers'][1])}
        break

out['comm_info'] = shell_reply(kc.comm_info(target_name='py'))['content']
kc.stop_channels()
print(json.dumps(out))
`;

describe('jupyter_client (Python) against the kernel', () => {
  let kernel: KernelProcess;
  beforeAll(async () => {
    requireJupyterTools();
    kernel = await startKernelProcess();
  });
  afterAll(async () => {
    await kernel?.kill();
  });

  it('executes, and round-trips a comm message with binary buffers under verified signatures', () => {
    const run = spawnSync(PYTHON, ['-c', SCRIPT, kernel.connectionFile], { encoding: 'utf8', timeout: 90000 });
    if (run.status !== 0) throw new Error(`jupyter_client failed (${run.status}):\n${run.stderr}\nkernel log:\n${kernel.log()}`);
    const out = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(out.execute).toEqual({ status: 'ok', result: ['42'] });
    expect(out.comm.content).toEqual({ comm_id: 'py-1', data: { got: { x: 1 }, sizes: [3, 100000] } });
    expect(out.comm.first).toBe('030201');
    expect(out.comm.second).toBe(100000);
    expect(out.comm_info).toEqual({ status: 'ok', comms: { 'py-1': { target_name: 'py' } } });
    expect(kernel.log()).not.toMatch(/rejected/);
  }, 120000);
});
