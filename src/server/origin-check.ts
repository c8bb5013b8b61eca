import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { InvalidArgumentError } from '../errors';

/** What a server accepts besides its own names, as given (`--allow-origin`, `--allow-host`). */
export interface AccessRules {
  /** Pages served elsewhere that may use /api/ and the WebSocket, as exact origins: `http://localhost:8888`. */
  allowOrigins?: readonly string[];
  /**
   * Other names this server is reached by (a DNS name of the machine, a reverse proxy's public name): with a
   * port, exactly that; without one, that name on any port or none (a proxy answers on its own port, and a
   * browser leaves 80 and 443 out), over http or https.
   */
  allowHosts?: readonly string[];
}

/**
 * Which Host and Origin headers a running server answers, beside the token (which stays required):
 *
 * - **Host**, on every request: one of the names the server is reachable by as bound, so a page on a
 *   rebound DNS name (evil.example → 127.0.0.1) gets nothing. Bound to 127.0.0.1, ::1 or localhost:
 *   `127.0.0.1`, `localhost`, `[::1]`; to a given --host: that name and its address; to 0.0.0.0 or `::`: every
 *   interface address of the machine, `localhost` and `os.hostname()`. Each at the server's port; plus
 *   `allowHosts`. IP literals are always safe here: only a name can be rebound.
 * - **Origin**, on /api/ and the WebSocket when the request carries one: `http://` + one of those hosts, or one
 *   of `allowOrigins`. A request without an Origin is not from a browser page (browsers always send one on a
 *   WebSocket handshake, RFC 6455 §4.1, and on cross-origin fetches) and is let through to the token check:
 *   demanding one of curl or a script would add nothing, as such a client can send any Origin it likes.
 *
 * @example
 * const check = new OriginCheck(accessRules({ allowOrigins: ['http://localhost:8888'] }), server.address(), '127.0.0.1');
 * check.refusal(request, true); // undefined, or why the request gets a 403
 */
export class OriginCheck {
  readonly hosts: ReadonlySet<string>;
  readonly origins: ReadonlySet<string>;
  /** Allowed names given without a port: accepted on any port, as Host and as the host of an Origin. */
  readonly anyPort: ReadonlySet<string>;

  constructor(rules: ValidRules, bound: AddressInfo, asked: string) {
    const hosts = new Set<string>();
    for (const name of serverNames(bound, asked)) {
      hosts.add(`${name}:${bound.port}`);
      // A browser leaves the default port out of Host and Origin.
      if (bound.port === 80) hosts.add(name);
    }
    const origins = new Set([...hosts].map((host) => `http://${host}`));
    const anyPort = new Set<string>();
    for (const host of rules.hosts) {
      if (!hasPort(host)) {
        anyPort.add(host);
        continue;
      }
      hosts.add(host);
      // A listed name may be a proxy's, which can speak https; a browser leaves the scheme's default port out.
      const port = host.slice(host.lastIndexOf(':') + 1);
      for (const scheme of ['http', 'https']) origins.add(`${scheme}://${host}`);
      if (port === '443') origins.add(`https://${withoutPort(host)}`);
      if (port === '80') origins.add(`http://${withoutPort(host)}`);
    }
    for (const origin of rules.origins) origins.add(origin);
    this.hosts = hosts;
    this.anyPort = anyPort;
    this.origins = origins;
  }

  /** Why this request is refused (the 403's reason), or undefined. `api`: /api/ or the WebSocket, where Origin counts. */
  refusal(request: IncomingMessage, api: boolean): string | undefined {
    const host = request.headers.host;
    if (!host) return 'the request has no Host header';
    if (!this.hosts.has(host.toLowerCase()) && !this.anyPort.has(withoutPort(host.toLowerCase()))) return `Host ${JSON.stringify(host)} is not a name of this server; if it is one, start the server with --allow-host`;
    const origin = request.headers.origin;
    if (!api || origin === undefined || this.origins.has(origin.toLowerCase()) || this.anyPort.has(originHost(origin))) return undefined;
    return `Origin ${JSON.stringify(origin)} is not this server's; to let a page served there in, start the server with --allow-origin`;
  }
}

function hasPort(host: string): boolean {
  return /:\d+$/.test(host.replace(/^\[.*\]/, ''));
}

function withoutPort(host: string): string {
  return hasPort(host) ? host.slice(0, host.lastIndexOf(':')) : host;
}

/** The host name (no port) of an http(s) origin, or '' for anything else (`null`, another scheme). */
function originHost(origin: string): string {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? withoutPort(url.host.toLowerCase()) : '';
  } catch {
    return '';
  }
}

/** The rules in the form OriginCheck compares: exact lower-case origins and hosts. */
export interface ValidRules {
  origins: string[];
  hosts: string[];
}

/** Checks and normalises the rules before anything starts; an entry that cannot match is an error, not ignored. */
export function accessRules(rules: AccessRules = {}): ValidRules {
  return { origins: (rules.allowOrigins ?? []).map(validOrigin), hosts: (rules.allowHosts ?? []).map(validHost) };
}

function validOrigin(value: string): string {
  const wrong = () => new InvalidArgumentError(`--allow-origin ${JSON.stringify(value)} is not an origin: give scheme://host[:port] and nothing after it, like http://localhost:8888`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw wrong();
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.hash || url.pathname !== '/') throw wrong();
  return url.origin;
}

function validHost(value: string): string {
  const host = value.trim().toLowerCase();
  // A name or IPv4 address with an optional port, or a bracketed IPv6 address with one.
  if (!/^([a-z0-9_.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?$/.test(host)) {
    throw new InvalidArgumentError(`--allow-host ${JSON.stringify(value)} is not a host name: give a name or address, with :port if it is not the server's, like labeling.example.org`);
  }
  return host;
}

const LOOPBACK = new Set(['127.0.0.1', '::1']);
const ANY = new Set(['0.0.0.0', '::']);

/** The host names (no port) a server bound to `bound`, asked for as `asked`, is reachable by. */
function serverNames(bound: AddressInfo, asked: string): string[] {
  const names = new Set([asked, bound.address]);
  if (LOOPBACK.has(bound.address)) for (const name of ['127.0.0.1', 'localhost', '::1']) names.add(name);
  if (ANY.has(bound.address)) {
    names.add('localhost');
    names.add(hostname());
    for (const address of Object.values(networkInterfaces()).flat()) if (address) names.add(address.address);
  }
  return [...names].filter((name) => !ANY.has(name)).map((name) => (name.includes(':') && !name.startsWith('[') ? `[${name}]` : name).toLowerCase());
}
