import { InvalidArgumentError } from '../errors';
import type { ServerMessage } from '../session';

/** What one WebSocket connection may send. */
export interface ConnectionLimits {
  /** Messages a connection may send at once, on top of the sustained rate. */
  burst: number;
  /** Messages a second, sustained. */
  perSecond: number;
  /** Refused messages (forgiven at `perSecond`) after which the connection is closed with 1008. */
  floodRefusals: number;
  /** The largest message a client may send, in bytes. */
  maxMessageBytes: number;
}

/**
 * Generous for people, tight for scripts gone wrong. A key held down repeats about 30 times a second, and
 * each label brings an image request or two behind it: 100 a second covers that with room. A reconnected page
 * resends everything it had no answer for at once, up to a grid page of 500 actions plus its hello and
 * images: a burst of 600. A client sending at 10× the rate is refused 900 of every 1000 messages a second
 * and forgiven 100: it reaches 4000 refusals, and is closed, in 5 s. Messages are labels and requests, never
 * uploads; the largest, `edit_many` with 500 ids and a caption, is a few tens of KiB: 1 MiB is far above.
 */
export const DEFAULT_LIMITS: ConnectionLimits = { burst: 600, perSecond: 100, floodRefusals: 4000, maxMessageBytes: 1024 * 1024 };

/** The defaults with the given fields in their place; throws naming the field that is not a positive number. */
export function connectionLimits(given: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const limits = { ...DEFAULT_LIMITS, ...given };
  for (const [field, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`limits.${field} must be a positive number; got ${JSON.stringify(value)}`);
  }
  return limits;
}

/**
 * A token bucket: holds up to `capacity` tokens, gains `perSecond` a second, and each take spends one.
 * `now` is in milliseconds (injectable, so tests drive the refill instead of waiting on it).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly capacity: number,
    readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  /** Spends a token if there is one. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export type Admission = 'accept' | 'refuse' | 'flood';

/**
 * One connection's messages: accepted while its bucket has tokens, refused (nothing applied) past it, and
 * `flood` once it kept sending after `floodRefusals` refusals, the refusals forgiven at the sustained rate,
 * so a client that backs off when refused is never closed.
 */
export class MessageLimiter {
  private readonly messages: TokenBucket;
  private readonly patience: TokenBucket;

  constructor(
    readonly limits: ConnectionLimits,
    now: () => number = () => performance.now(),
  ) {
    this.messages = new TokenBucket(limits.burst, limits.perSecond, now);
    this.patience = new TokenBucket(limits.floodRefusals, limits.perSecond, now);
  }

  admit(): Admission {
    if (this.messages.take()) return 'accept';
    return this.patience.take() ? 'refuse' : 'flood';
  }
}

/** The answer to a message over the rate: `refused`, `rate_limited`, retryable, with its request's id (-1 if it has none). */
export function rateLimitedRefusal(message: unknown, limits: ConnectionLimits): ServerMessage {
  const requestId = typeof (message as { requestId?: unknown } | null)?.requestId === 'number' ? (message as { requestId: number }).requestId : -1;
  const reason = `too many messages: this connection may send ${limits.burst} at once and ${limits.perSecond} a second after that; nothing was applied, send it again in a moment`;
  return { type: 'refused', requestId, code: 'rate_limited', reason, retryable: true };
}

/** The close reason of a flooding connection (at most 123 bytes, as a WebSocket close reason must be). */
export const FLOOD_CLOSE_REASON = 'kept sending far over the rate limit after being refused; reconnect and send slower';

/** The close reason of a message over the size limit. */
export function tooBigReason(limits: ConnectionLimits): string {
  return `a message was over the limit of ${limits.maxMessageBytes} bytes`;
}
