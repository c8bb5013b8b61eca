import { parentPort, workerData } from 'node:worker_threads';
import { Router } from 'zeromq';

/**
 * The heartbeat echo (messaging spec, "Heartbeat for kernels"), on its own thread: it answers while a cell
 * blocks the main thread, so the front end does not take a busy kernel for a dead one. ipykernel runs it on
 * a thread for the same reason.
 */
const socket = new Router();
parentPort?.on('message', (message) => {
  if (message === 'close') {
    socket.close();
    parentPort?.close();
  }
});
void (async () => {
  try {
    await socket.bind(workerData as string);
    parentPort?.postMessage('bound');
    // A ROUTER gets [identity, ...payload]; sending that back returns the payload to its sender unchanged.
    for await (const frames of socket) await socket.send(frames);
  } catch (error) {
    if (!socket.closed) parentPort?.postMessage(`error: ${error instanceof Error ? error.message : String(error)}`);
  }
})();
