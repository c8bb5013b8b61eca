/**
 * The standalone page of `quicksort serve`: checks the token, builds the AFM `model` over a WebSocket
 * (./socket-model.ts), and renders the very same app bundle that JupyterLab loads (labeling-app.js, imported
 * at run time, not bundled in here). URL parameters: `token` (required), `user` (who labels), `prefetch`
 * (next images decoded ahead; 0 turns prefetching off, for comparisons).
 */
import type { AfmDefinition } from '../afm/model';
import { SocketModel, type Probe } from './socket-model';

interface ServerInfo {
  dataset: string;
  name: string;
  protocol: number;
  user: string;
}

const params = new URLSearchParams(location.search);
const token = params.get('token') ?? '';
const mount = document.getElementById('app')!;
const banner = document.getElementById('banner')!;

function say(text: string, kind: 'error' | 'info' = 'info'): void {
  banner.textContent = text;
  banner.className = `banner is-${kind}`;
  banner.hidden = false;
}

async function serverInfo(): Promise<ServerInfo | 'unauthorized' | 'unreachable'> {
  try {
    const response = await fetch('/api/info', { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
    if (response.status === 401) return 'unauthorized';
    if (!response.ok) return 'unreachable';
    return (await response.json()) as ServerInfo;
  } catch {
    return 'unreachable';
  }
}

const STALE_TOKEN =
  'The server is back, but with a new token (each start of `quicksort serve` makes one, unless it keeps one with --token-file): open the URL it printed this time. Actions not yet saved are lost with this page.';

/**
 * Whether the server is back, before the model opens a new socket. A server that comes back with another token
 * answers 401: this link is stale, and waiting longer would never end, so the page says which URL to open.
 */
async function probe(): Promise<Probe> {
  const info = await serverInfo();
  if (info === 'unauthorized') say(STALE_TOKEN, 'error');
  return typeof info === 'object' ? 'ok' : info;
}

async function start(): Promise<void> {
  const info = await serverInfo();
  if (info === 'unauthorized') {
    return say(token ? 'This link’s token is not valid for this server: open the URL that `quicksort serve` printed.' : 'This page needs its token: open the URL that `quicksort serve` printed (it ends in ?token=…).', 'error');
  }
  if (info === 'unreachable') return say('The QuickSort server does not answer. Is `quicksort serve` still running?', 'error');
  document.title = `QuickSort · ${info.name}`;

  const state: Record<string, unknown> = { dataset: info.dataset, protocol: info.protocol };
  const user = params.get('user');
  if (user) state.user = user;
  const prefetch = params.get('prefetch');
  if (prefetch !== null && Number.isFinite(Number(prefetch))) state.image_prefetch = Number(prefetch);

  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  // A lost connection is opened again by the model (the header says so, and how much is unsent); the app
  // then says hello again and resends what had no answer, with the same idempotency keys.
  const model = new SocketModel(
    `${scheme}://${location.host}/api/socket?token=${encodeURIComponent(token)}`,
    state,
    { storageKey: `quicksort:${info.dataset}:${user ?? ''}`, keys: ['ui'] },
    probe,
    // A server that stopped on purpose (Ctrl-C) says so (1001): the page says it too, above the app.
    (event) => {
      if (event.code === 1001) say('The server stopped. Waiting for it to come back…', 'error');
    },
  );
  model.on('change:connection', (_model: unknown, connection: { state: string }) => {
    if (connection.state === 'connected') banner.hidden = true;
  });
  const module = (await import(/* the app bundle, shared with JupyterLab */ new URL('./labeling-app.js', import.meta.url).href)) as { default: AfmDefinition | (() => AfmDefinition) };
  const definition = typeof module.default === 'function' ? module.default() : module.default;
  const cleanup = await definition.render({ model, el: mount });
  // The page is the app: give it the keyboard as soon as React has mounted it.
  for (let frame = 0; frame < 120; frame++) {
    const app = mount.querySelector<HTMLElement>('.qs-app');
    if (app) {
      app.focus();
      break;
    }
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  addEventListener('pagehide', () => {
    void cleanup();
    model.close();
  });
}

void start();
