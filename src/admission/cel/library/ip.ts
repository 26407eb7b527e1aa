// kube's IP and CIDR libraries (k8s.io/apiserver/pkg/cel/library/ip.go, cidr.go) with Go's net/netip parsing: strict
// dotted quads (no leading zeros), IPv6 with :: and an embedded IPv4 tail, no zones, no IPv4-mapped IPv6; addresses
// print in netip's canonical form.
import { celFunc, celMethod, CelScalar, mapType, type CelFunc } from '@bufbuild/cel';
import { asValue, Opaque, opaque } from './opaque.js';

const { DYN, BOOL, INT, STRING } = CelScalar;
const OBJECT = mapType(DYN, DYN);
const ipType = 'net.IP';
const cidrType = 'net.CIDR';

interface Addr {
  /** 4 or 16 bytes. */
  bytes: number[];
}

interface Prefix {
  addr: Addr;
  bits: number;
}

class ParseError extends Error {}

function parseIPv4(text: string): number[] | undefined {
  const fields = text.split('.');
  if (fields.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const field of fields) {
    if (!/^[0-9]{1,3}$/.test(field) || (field.length > 1 && field.startsWith('0'))) return undefined;
    const value = Number(field);
    if (value > 255) return undefined;
    bytes.push(value);
  }
  return bytes;
}

function parseIPv6(text: string): number[] | undefined {
  let head = text;
  let tail = '';
  const gap = text.indexOf('::');
  if (gap >= 0) {
    head = text.slice(0, gap);
    tail = text.slice(gap + 2);
    if (tail.includes('::')) return undefined;
  }
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const fields = part.split(':');
    for (const [index, field] of fields.entries()) {
      if (index === fields.length - 1 && field.includes('.')) {
        const v4 = parseIPv4(field);
        if (v4 === undefined) return undefined;
        out.push(...v4);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(field)) return undefined;
      const value = parseInt(field, 16);
      out.push(value >> 8, value & 0xff);
    }
    return out;
  };
  const first = groups(head);
  const last = groups(tail);
  if (first === undefined || last === undefined) return undefined;
  if (gap < 0) return first.length === 16 ? first : undefined;
  if (first.length + last.length > 14) return undefined;
  return [...first, ...new Array<number>(16 - first.length - last.length).fill(0), ...last];
}

function parseAddr(text: string): Addr {
  if (text.includes('%')) throw new ParseError('zone');
  const bytes = text.includes(':') ? parseIPv6(text) : parseIPv4(text);
  if (bytes === undefined) throw new ParseError(`ParseAddr(${JSON.stringify(text)}): unable to parse IP`);
  return { bytes };
}

const is4In6 = (a: Addr): boolean => a.bytes.length === 16 && a.bytes.slice(0, 10).every((b) => b === 0) && a.bytes[10] === 0xff && a.bytes[11] === 0xff;

/** ip(): netip.ParseAddr, refusing zones and IPv4-mapped IPv6 as kube does. */
function kubeAddr(text: string): Addr {
  let addr: Addr;
  try {
    addr = parseAddr(text);
  } catch (error) {
    if ((error as Error).message === 'zone') throw new Error(`IP address ${JSON.stringify(text)} with zone value is not allowed`);
    throw new Error(`IP Address ${JSON.stringify(text)} parse error during conversion from string: ${(error as Error).message}`);
  }
  if (is4In6(addr)) throw new Error(`IPv4-mapped IPv6 address ${JSON.stringify(text)} is not allowed`);
  return addr;
}

/** netip.Addr.String(): dotted quad, or RFC 5952 (lower case, the longest run of two or more zero groups as ::). */
function addrString(a: Addr): string {
  if (a.bytes.length === 4) return a.bytes.join('.');
  const groups = Array.from({ length: 8 }, (_, i) => (a.bytes[2 * i]! << 8) | a.bytes[2 * i + 1]!);
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (g: number): string => g.toString(16);
  if (bestStart < 0) return groups.map(hex).join(':');
  return `${groups.slice(0, bestStart).map(hex).join(':')}::${groups.slice(bestStart + bestLength).map(hex).join(':')}`;
}

function kubePrefix(text: string): Prefix {
  const fail = (why: string): never => {
    throw new Error(`network address parse error during conversion from string: netip.ParsePrefix(${JSON.stringify(text)}): ${why}`);
  };
  const slash = text.lastIndexOf('/');
  if (slash < 0) return fail('no \'/\'');
  const addrText = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  let addr: Addr;
  try {
    addr = parseAddr(addrText);
  } catch (error) {
    return fail((error as Error).message === 'zone' ? 'IPv6 zones cannot be present in a prefix' : (error as Error).message);
  }
  if (!/^(0|[1-9][0-9]*)$/.test(bitsText) || Number(bitsText) > addr.bytes.length * 8) return fail(`bad bits after slash: ${JSON.stringify(bitsText)}`);
  if (is4In6(addr)) throw new Error(`IPv4-mapped IPv6 address ${JSON.stringify(text)} is not allowed`);
  return { addr, bits: Number(bitsText) };
}

function maskedAddr(a: Addr, bits: number): Addr {
  return { bytes: a.bytes.map((b, i) => (i * 8 >= bits ? 0 : i * 8 + 8 <= bits ? b : b & (0xff << (8 - (bits - i * 8))) & 0xff)) };
}

const sameAddr = (a: Addr, b: Addr): boolean => a.bytes.length === b.bytes.length && a.bytes.every((x, i) => x === b.bytes[i]);

function contains(prefix: Prefix, addr: Addr): boolean {
  return prefix.addr.bytes.length === addr.bytes.length && sameAddr(maskedAddr(prefix.addr, prefix.bits), maskedAddr(addr, prefix.bits));
}

/**
 * kube compares the outer prefix, masked, with the inner prefix's address as written at the outer length, unmasked: so
 * 10.0.0.0/8 contains 10.0.0.0/16 but not 10.1.0.0/16 (k8s.io/apiserver v0.32.2's cidrContainsCIDR, matched as is).
 */
function containsCidr(outer: Prefix, inner: Prefix): boolean {
  return sameAddr(maskedAddr(outer.addr, outer.bits), inner.addr) && outer.bits <= inner.bits;
}

const ipValue = (a: Addr): Opaque<Addr> => new Opaque(ipType, addrString(a), a, addrString(a));
const cidrValue = (p: Prefix): Opaque<Prefix> => new Opaque(cidrType, `${addrString(p.addr)}/${p.bits}`, p, `${addrString(p.addr)}/${p.bits}`);
const ip = (value: unknown): Addr => opaque<Addr>(value, ipType);
const cidr = (value: unknown): Prefix => opaque<Prefix>(value, cidrType);

const v4 = (a: Addr): boolean => a.bytes.length === 4;
const isUnspecified = (a: Addr): boolean => a.bytes.every((b) => b === 0);
const isLoopback = (a: Addr): boolean => (v4(a) ? a.bytes[0] === 127 : a.bytes.slice(0, 15).every((b) => b === 0) && a.bytes[15] === 1);
const isMulticast = (a: Addr): boolean => (v4(a) ? (a.bytes[0]! & 0xf0) === 0xe0 : a.bytes[0] === 0xff);
const isLinkLocalUnicast = (a: Addr): boolean => (v4(a) ? a.bytes[0] === 169 && a.bytes[1] === 254 : a.bytes[0] === 0xfe && (a.bytes[1]! & 0xc0) === 0x80);
const isLinkLocalMulticast = (a: Addr): boolean =>
  v4(a) ? a.bytes[0] === 224 && a.bytes[1] === 0 && a.bytes[2] === 0 : a.bytes[0] === 0xff && (a.bytes[1]! & 0x0f) === 0x02;
const isBroadcast = (a: Addr): boolean => v4(a) && a.bytes.every((b) => b === 255);

const valid = (parse: () => unknown): boolean => {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
};

export const ipLibrary: CelFunc[] = [
  celFunc('ip', [STRING], DYN, (text) => asValue(ipValue(kubeAddr(text)))),
  celFunc('isIP', [STRING], BOOL, (text) => valid(() => kubeAddr(text))),
  celFunc('ip.isCanonical', [STRING], BOOL, (text) => addrString(kubeAddr(text)) === text),
  celMethod('family', OBJECT, [], INT, function () {
    return v4(ip(this)) ? 4n : 6n;
  }),
  celMethod('isUnspecified', OBJECT, [], BOOL, function () {
    return isUnspecified(ip(this));
  }),
  celMethod('isLoopback', OBJECT, [], BOOL, function () {
    return isLoopback(ip(this));
  }),
  celMethod('isLinkLocalMulticast', OBJECT, [], BOOL, function () {
    return isLinkLocalMulticast(ip(this));
  }),
  celMethod('isLinkLocalUnicast', OBJECT, [], BOOL, function () {
    return isLinkLocalUnicast(ip(this));
  }),
  celMethod('isGlobalUnicast', OBJECT, [], BOOL, function () {
    const a = ip(this);
    return !isBroadcast(a) && !isUnspecified(a) && !isLoopback(a) && !isMulticast(a) && !isLinkLocalUnicast(a);
  }),
  celFunc('cidr', [STRING], DYN, (text) => asValue(cidrValue(kubePrefix(text)))),
  celFunc('isCIDR', [STRING], BOOL, (text) => valid(() => kubePrefix(text))),
  celMethod('containsIP', OBJECT, [STRING], BOOL, function (text) {
    return contains(cidr(this), kubeAddr(text));
  }),
  celMethod('containsIP', OBJECT, [OBJECT], BOOL, function (other) {
    return contains(cidr(this), ip(other));
  }),
  celMethod('containsCIDR', OBJECT, [STRING], BOOL, function (text) {
    return containsCidr(cidr(this), kubePrefix(text));
  }),
  celMethod('containsCIDR', OBJECT, [OBJECT], BOOL, function (other) {
    return containsCidr(cidr(this), cidr(other));
  }),
  celMethod('ip', OBJECT, [], DYN, function () {
    return asValue(ipValue(cidr(this).addr));
  }),
  celMethod('prefixLength', OBJECT, [], INT, function () {
    return BigInt(cidr(this).bits);
  }),
  celMethod('masked', OBJECT, [], DYN, function () {
    const p = cidr(this);
    return asValue(cidrValue({ addr: maskedAddr(p.addr, p.bits), bits: p.bits }));
  }),
  celFunc('string', [OBJECT], STRING, (value) => {
    if (value instanceof Opaque && (value.typeName === ipType || value.typeName === cidrType)) return value.text;
    throw new Error('no such overload');
  }),
];
