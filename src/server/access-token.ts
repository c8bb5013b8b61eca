import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A fresh token for one run of the server: 32 random bytes, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The token a request carries: `Authorization: Bearer …`, else `?token=…` (a link, a WebSocket URL). */
export function tokenOf(request: IncomingMessage, query: URLSearchParams): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  return query.get('token') ?? undefined;
}

/**
 * Compares in constant time. Both sides are hashed first, so neither the content nor the length of the
 * real token shows in how long a wrong guess takes.
 */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined || given === '') return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * `text` with the token blotted out, as it is spelled in a URL or in a header, for everything the server
 * writes back or logs: a path can carry the token where it does not belong (`/%3Ftoken=…`), and error
 * messages quote paths. The serve banner is the only place that shows it.
 */
export function withoutToken(text: string, token: string): string {
  let safe = text;
  for (const spelling of new Set([token, encodeURIComponent(token)])) safe = safe.split(spelling).join('<token>');
  return safe;
}

/**
 * `text` with any token blotted out, the server's or not: `token=…` (also escaped, `token%3D…`) and
 * `Bearer …`. For log lines, which quote URLs and paths: a wrong or an old token someone pasted is still
 * somebody's secret.
 */
export function withoutAnyToken(text: string, token: string): string {
  const blotted = text.replace(/(token(?:=|%3D))[\w.~%+/=-]*/gi, '$1<token>').replace(/(bearer\s+)[\w.~%+/=-]+/gi, '$1<token>');
  return withoutToken(blotted, token);
}
