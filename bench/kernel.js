#!/usr/bin/env node
// The kernel's comm path against its plainest request, measured in the same run on the same kernel:
//  - round trip of a widget custom message carrying a 1 MB binary buffer, client → kernel → client (the
//    kernel-side widget echoes content and buffer back), sequential, median;
//  - messages/s of the same 1 MB round trips with a window of messages in flight;
//  - round trip of an execute_request of an empty cell (reply and idle status), sequential, median.
// Each run starts a fresh kernel process (dist/kernel/main.js) and drives it over ZeroMQ on localhost with
// signed messages, as a Jupyter server would.
//
//   npm run build && node bench/kernel.js [--runs 3] [--count 50] [--size 1048576] [--window 8]
//
// Results, with the machine, go to bench/results/kernel.md.
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { KernelClient, startKernelProcess } = require('../dist/kernel/client');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};
const runs = Number(option('runs', '3'));
const count = Number(option('count', '50'));
const size = Number(option('size', String(1024 * 1024)));
const windowSize = Number(option('window', '8'));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const SETUP = `
import { AnyWidget } from "quicksort/kernel";
const bench = new AnyWidget<{ n: number }, { echo: unknown }, unknown>({ esm: "export default { render() {} }", state: { n: 0 } });
bench.on("msg:custom", (content, buffers) => bench.send({ echo: content }, buffers));
bench.id`;

async function oneRun(run) {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'quicksort-bench-kernel-'));
  const kernel = await startKernelProcess({ cwd: folder });
  const client = await KernelClient.connect(kernel.connection);
  try {
    const setup = await client.execute(SETUP);
    if (setup.reply.content.status !== 'ok') throw new Error(`setup cell failed: ${JSON.stringify(setup.error)}`);
    const modelId = setup.result;
    const payload = Buffer.alloc(size, 0xab);

    // Echoes come back on IOPub parented to the request that caused them.
    const waiting = new Map();
    const stop = client.onIopub((message) => {
      const parent = message.parent_header.msg_id;
      if (message.header.msg_type !== 'comm_msg' || !waiting.has(parent)) return;
      if (message.buffers.length !== 1 || message.buffers[0].length !== size) throw new Error('echo lost its buffer');
      const resolve = waiting.get(parent);
      waiting.delete(parent);
      resolve();
    });
    const roundTrip = () =>
      new Promise((resolve) => {
        const { header, frames } = client.encode('comm_msg', { comm_id: modelId, data: { method: 'custom', content: { t: 1 } } }, { buffers: [payload] });
        waiting.set(header.msg_id, resolve);
        client.sendRaw('shell', frames);
      });
    const timeEach = async (times, step) => {
      const samples = [];
      for (let i = 0; i < times; i++) {
        const start = process.hrtime.bigint();
        await step();
        samples.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      return samples;
    };

    // Warm both paths (compiler, JIT, socket buffers) before measuring.
    await timeEach(10, () => client.execute(''));
    await timeEach(10, roundTrip);

    const execute = median(await timeEach(count, () => client.execute('')));
    const comm = median(await timeEach(count, roundTrip));

    const total = count * 4;
    let sent = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: windowSize }, async () => {
        while (sent < total) {
          sent++;
          await roundTrip();
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    stop();
    const result = { run, executeMs: execute, commMs: comm, messagesPerSecond: total / seconds, megabytesPerSecond: (total * size * 2) / 1e6 / seconds };
    process.stderr.write(`run ${run}: empty execute ${execute.toFixed(2)} ms, 1 MB comm round trip ${comm.toFixed(2)} ms, ${result.messagesPerSecond.toFixed(0)} msg/s\n`);
    if (client.rejected.length > 0) throw new Error(`messages failed verification: ${client.rejected.join('; ')}`);
    return result;
  } finally {
    client.close();
    await kernel.kill();
    rmSync(folder, { recursive: true, force: true });
  }
}

async function main() {
  const results = [];
  for (let run = 1; run <= runs; run++) results.push(await oneRun(run));
  const executeMs = median(results.map((r) => r.executeMs));
  const commMs = median(results.map((r) => r.commMs));
  const messagesPerSecond = median(results.map((r) => r.messagesPerSecond));
  const megabytesPerSecond = median(results.map((r) => r.megabytesPerSecond));
  const machine = `${os.cpus().length}-core ${os.cpus()[0]?.model.trim() ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
  const command = `node bench/kernel.js --runs ${runs} --count ${count} --size ${size} --window ${windowSize}`;
  const table = [
    '| measure | median of runs | per run |',
    '| --- | --- | --- |',
    `| execute_request of an empty cell, round trip (reply + idle) | ${executeMs.toFixed(2)} ms | ${results.map((r) => r.executeMs.toFixed(2)).join(', ')} |`,
    `| custom comm message with a ${(size / 2 ** 20).toFixed(0)} MB buffer, client → kernel → client | ${commMs.toFixed(2)} ms | ${results.map((r) => r.commMs.toFixed(2)).join(', ')} |`,
    `| ratio, comm round trip / empty execute | ${(commMs / executeMs).toFixed(2)} | ${results.map((r) => (r.commMs / r.executeMs).toFixed(2)).join(', ')} |`,
    `| 1 MB comm round trips per second, ${windowSize} in flight | ${messagesPerSecond.toFixed(0)} msg/s (${megabytesPerSecond.toFixed(0)} MB/s both ways) | ${results.map((r) => r.messagesPerSecond.toFixed(0)).join(', ')} |`,
  ].join('\n');
  const report = `Command: \`${command}\`\n\nMachine: ${machine}\n\nMedians of ${count} sequential round trips per run, median of ${runs} runs, each run a fresh kernel process.\n\n${table}\n`;
  process.stdout.write(report);
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
