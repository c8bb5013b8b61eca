import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { withoutToken } from './access-token';

// How the server answers: the headers every answer carries, JSON answers, refused WebSocket handshakes; none
// of them with the token in it.

export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
};

// The page's scripts, styles and connections come from this server only; images are blob: URLs.
export const PAGE_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/** A JSON answer, with the token blotted out of it (see {@link withoutToken}). */
export function writeJson(response: ServerResponse, status: number, body: unknown, token: string): void {
  const text = withoutToken(JSON.stringify(body), token);
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}

/** Refuses a WebSocket handshake with an HTTP answer, before ws ever sees it. */
export function refuseUpgrade(socket: Socket, status: number, text: string, reason: string, token: string): void {
  const body = withoutToken(JSON.stringify({ error: text.toLowerCase().replace(/ /g, '_'), reason }), token);
  // As ws's own abortHandshake: answer, then drop the connection once the answer is written.
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
