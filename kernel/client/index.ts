/**
 * A Jupyter client for driving a kernel over ZeroMQ from Node — the kernel's tests and benchmark use it, and
 * so can tests of widgets built on the kernel.
 *
 * @example
 * const kernel = await startKernelProcess();
 * const client = await KernelClient.connect(kernel.connection);
 * const run = await client.execute('const x: number = 41; x + 1');
 * run.result; // "42"
 * client.close();
 * await kernel.kill();
 */
export { KernelClient, type Execution, type SendOptions } from './kernel-client';
export { freePorts, newConnection, startKernelProcess, type KernelProcess, type StartKernelProcessOptions } from './kernel-process';
