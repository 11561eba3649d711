/**
 * Who may talk to `skyscore serve`: the Host header must name this server (a loopback name, the address it is
 * bound to, or the host of an origin allowed with --allow-origin), and a browser's Origin must be the page's own
 * (the same scheme-less host and port as Host) or one allowed with --allow-origin. This stops a cross-site page
 * and a DNS-rebinding page from driving the engine even when they hold a leaked link: the token says who may
 * connect, the origin says from where.
 */
import { UserInputError } from '../../src-shared/errors.js';

export class OriginInputError extends UserInputError {
  override name = 'OriginInputError';
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const WILDCARD = new Set(['0.0.0.0', '::', '[::]', '']);

/** Lower-cased host and port of a Host header value (`name`, `name:port`, `[v6]:port`), or null when malformed. */
export function parseHost(value: string): { host: string; port: string } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m) return null;
  return { host: m[1]!.toLowerCase(), port: m[2] ?? '' };
}

/** An --allow-origin value as an origin (`http://gpu-box:8080`), or an input error saying what it must be. */
export function normaliseOrigin(given: string): string {
  let u: URL;
  try {
    u = new URL(given);
  } catch {
    throw new OriginInputError(`serve: --allow-origin must be an origin such as http://gpu-box:8080, got '${given.slice(0, 100)}'`);
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
    throw new OriginInputError(`serve: --allow-origin must be an origin (http or https, a host and an optional port, no path), got '${given.slice(0, 100)}'`);
  }
  return u.origin;
}

export interface OriginPolicy {
  /** The address the server listens on (--host). */
  bindHost: string;
  /** Origins allowed besides the server's own (normalised, normaliseOrigin). */
  allowOrigins: readonly string[];
}

function hostAllowed(host: { host: string; port: string }, policy: OriginPolicy): boolean {
  if (LOOPBACK.has(host.host)) return true;
  const bind = policy.bindHost.includes(':') && !policy.bindHost.startsWith('[') ? `[${policy.bindHost}]` : policy.bindHost;
  if (!WILDCARD.has(bind) && host.host === bind.toLowerCase()) return true;
  for (const o of policy.allowOrigins) {
    const u = new URL(o);
    if (u.hostname.toLowerCase() === host.host) return true;
  }
  return false;
}

/**
 * Checks an http request or WebSocket upgrade's Host and Origin headers; returns null when they are allowed,
 * else why not (for the 403 response and the server's log).
 */
export function checkOrigin(headers: { host?: string; origin?: string | string[] }, policy: OriginPolicy): string | null {
  const hostValue = headers.host;
  if (!hostValue) return 'no Host header';
  const host = parseHost(hostValue);
  if (!host) return 'a malformed Host header';
  if (!hostAllowed(host, policy)) return `Host ${hostValue.slice(0, 100)} is not this server (allow it with --allow-origin)`;
  const origin = headers.origin;
  if (origin === undefined) return null; // not a browser: the token alone decides
  if (typeof origin !== 'string') return 'several Origin headers';
  if (policy.allowOrigins.includes(origin.toLowerCase())) return null;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return `Origin ${origin.slice(0, 100)} is not this server's`;
  }
  if ((u.protocol === 'http:' || u.protocol === 'https:') && u.host.toLowerCase() === hostValue.trim().toLowerCase()) return null;
  return `Origin ${origin.slice(0, 100)} is not this server's (allow it with --allow-origin)`;
}
