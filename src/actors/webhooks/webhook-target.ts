import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Where a webhook may point. Always: an absolute http(s) URL without
 * credentials or fragment. Unless private targets are allowed
 * (BFLOW_WEBHOOK_ALLOW_PRIVATE=false), also no loopback, private, link-local
 * (cloud metadata), CGNAT, unspecified or multicast address — checked on the
 * URL at registration and again on every resolved address at connect time,
 * so a name that later resolves inward (DNS rebinding) is refused too.
 */

/** Longest URL a webhook may have (the `webhooks.url` column). */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

const INTERNAL = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  INTERNAL.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  // Unspecified, loopback and the deprecated IPv4-compatible ::a.b.c.d.
  ['::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  INTERNAL.addSubnet(net, bits, 'ipv6');
}

/** True for an IP literal in a loopback, private, link-local, CGNAT, reserved or multicast range (IPv4-mapped IPv6 included). */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return INTERNAL.check(mapped[1]!, 'ipv4');
    return INTERNAL.check(address, 'ipv6');
  }
  return INTERNAL.check(address, 'ipv4');
}

/** The URL's host as an IP literal (brackets of IPv6 removed), or undefined for a name. */
function literalHost(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return isIP(host) === 0 ? undefined : host;
}

/** Why `value` cannot be a webhook URL, or undefined when it can. */
export function webhookUrlProblem(value: string, allowPrivate: boolean): string | undefined {
  if (value.length > MAX_WEBHOOK_URL_LENGTH) return `at most ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'not an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https URLs';
  if (url.username !== '' || url.password !== '')
    return 'no credentials in the URL (the signature authenticates bflow)';
  if (url.hash !== '') return 'no fragment';
  if (!allowPrivate) {
    const literal = literalHost(url);
    if (url.hostname === 'localhost' || url.hostname.endsWith('.localhost'))
      return 'a loopback host is not allowed (BFLOW_WEBHOOK_ALLOW_PRIVATE=false)';
    if (literal !== undefined && isInternalAddress(literal))
      return 'a private, loopback or link-local address is not allowed (BFLOW_WEBHOOK_ALLOW_PRIVATE=false)';
  }
  return undefined;
}

/** An error whose code says the target resolved to an address it may not reach. */
export class TargetRefusedError extends Error {
  override readonly name = 'TargetRefusedError';
  readonly code = 'webhook_target_refused';
}

/**
 * A `lookup` for http.request that refuses internal addresses (the connect-time
 * half of the check). IP literals never reach a lookup: check them with
 * {@link webhookUrlProblem} before the request.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const refused = addresses.find((a) => isInternalAddress(a.address));
    if (refused)
      return callback(new TargetRefusedError(`${hostname} resolves to internal address ${refused.address}`), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0];
    if (!first) return callback(new TargetRefusedError(`${hostname} has no address`), '', 0);
    callback(null, first.address, first.family);
  });
};
