// The standalone side of bench/jupyterlab.js: the same labeling app (AFM) in a plain page, speaking the same
// session protocol to the same engine (SessionHost + LabelingSession) over a WebSocket, with no Jupyter in
// between. It is the bench's baseline until `quicksort serve` exists; then the bench can point at that.
//
// Framing on the socket: a text frame `{"message": …, "buffers": n}` followed by n binary frames.
const http = require('node:http');
const { WebSocketServer } = require('ws');
const { LabelingSession, SessionHost } = require('../dist/session');

/** The page: an anywidget-style `model` over the socket, then the AFM's render({ model, el }). */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>QuickSort (standalone bench)</title><link rel="stylesheet" href="/app.css"></head>
<body><div id="app" class="quicksort-widget"></div>
<script type="module">
const socket = new WebSocket(\`ws://\${location.host}/session\`);
socket.binaryType = 'arraybuffer';
const listeners = new Map();
const emit = (event, ...args) => (listeners.get(event) || []).forEach((listener) => listener(...args));
let pending = null;
socket.onmessage = (event) => {
  if (typeof event.data === 'string') {
    const frame = JSON.parse(event.data);
    pending = { message: frame.message, left: frame.buffers, buffers: [] };
  } else {
    pending.buffers.push(new DataView(event.data));
    pending.left--;
  }
  if (pending && pending.left === 0) {
    const { message, buffers } = pending;
    pending = null;
    emit('msg:custom', message, buffers);
  }
};
const state = {};
const model = {
  get: (key) => state[key],
  set: (key, value) => { state[key] = value; emit('change:' + key, model, value); },
  on: (event, listener) => listeners.set(event, [...(listeners.get(event) || []), listener]),
  off: (event, listener) => listeners.set(event, (listeners.get(event) || []).filter((l) => listener && l !== listener)),
  save_changes: () => {},
  send: (content) => socket.send(JSON.stringify(content)),
  widget_manager: { get_model: () => Promise.reject(new Error('standalone')) },
};
await new Promise((resolve) => socket.addEventListener('open', resolve, { once: true }));
const app = (await import('/app.js')).default;
const definition = typeof app === 'function' ? await app() : app;
await definition.initialize?.({ model });
await definition.render({ model, el: document.getElementById('app') });
window.standaloneReady = true;
</script></body></html>`;

/**
 * Serves the app for `dataset` on a free port.
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
async function startStandalone({ dataset, esm, css = '', prefetch }) {
  const host = new SessionHost(dataset);
  const server = http.createServer((request, response) => {
    const url = request.url.split('?')[0];
    if (url === '/') response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else if (url === '/app.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(esm);
    else if (url === '/app.css') response.writeHead(200, { 'content-type': 'text/css' }).end(css);
    else response.writeHead(404).end();
  });
  const sockets = new WebSocketServer({ server, path: '/session' });
  sockets.on('connection', (socket) => {
    const session = new LabelingSession(
      host,
      ({ message, buffers = [] }) => {
        socket.send(JSON.stringify({ message, buffers: buffers.length }));
        for (const buffer of buffers) socket.send(buffer);
      },
      { prefetch },
    );
    socket.on('message', (data, isBinary) => {
      if (!isBinary) void session.handle(JSON.parse(String(data)));
    });
    socket.on('close', () => session.close());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: async () => {
      for (const client of sockets.clients) client.terminate();
      await new Promise((resolve) => sockets.close(resolve));
      await new Promise((resolve) => server.close(resolve));
      host.close();
    },
  };
}

module.exports = { startStandalone };
