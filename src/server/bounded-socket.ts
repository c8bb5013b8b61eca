import { WebSocket } from 'ws';

/** The close code ws uses for a message over `maxPayload`. */
export const MESSAGE_TOO_BIG = 1009;

/**
 * The WebSocket class for a server with `maxPayload`: ws refuses a message over it from the frame header,
 * before buffering it, and closes with 1009 but no reason; this class gives that close its reason, so the
 * client reads what went wrong. (ws calls `close(1009)` on the socket itself, the one place to add it.)
 */
export function boundedSocketClass(reason: string): typeof WebSocket {
  return class BoundedSocket extends WebSocket {
    override close(code?: number, data?: string | Buffer): void {
      super.close(code, code === MESSAGE_TOO_BIG && data === undefined ? reason : data);
    }
  };
}
