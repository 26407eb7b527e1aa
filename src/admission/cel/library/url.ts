// kube's URL library (k8s.io/apiserver/pkg/cel/library/urls.go): url(), isURL and the getters, with Go's net/url
// semantics (url() checks with ParseRequestURI, then parses with Parse), as far as policies meet them.
import { celFunc, celMethod, CelScalar, mapType, listType, type CelFunc, type CelValue } from '@bufbuild/cel';
import { asValue, Opaque, opaque } from './opaque.js';

const { DYN, BOOL, STRING } = CelScalar;
const OBJECT = mapType(DYN, DYN);
const typeName = 'kubernetes.URL';

interface GoUrl {
  scheme: string;
  opaque: string;
  host: string;
  path: string;
  rawPath: string;
  rawQuery: string;
}

class UrlError extends Error {}

type Mode = 'path' | 'host' | 'zone' | 'queryComponent' | 'userPassword';

function shouldEscape(c: string, mode: Mode): boolean {
  if (/[A-Za-z0-9]/.test(c)) return false;
  if (mode === 'host' || mode === 'zone') {
    if ("!$&'()*+,;=:[]<>\"".includes(c)) return false;
  }
  if ('-_.~'.includes(c)) return false;
  if ('$&+,/:;=?@'.includes(c)) {
    switch (mode) {
      case 'path':
        return c === '?';
      case 'userPassword':
        return c === '@' || c === '/' || c === '?' || c === ':';
      case 'queryComponent':
        return true;
      default:
        return false;
    }
  }
  return true;
}

function unescape(s: string, mode: Mode): string {
  let n = 0;
  for (let i = 0; i < s.length; ) {
    if (s[i] === '%') {
      n++;
      const hex = s.slice(i, i + 3);
      if (!/^%[0-9a-fA-F]{2}$/.test(hex)) throw new UrlError(`invalid URL escape ${JSON.stringify(hex.length > 3 ? hex.slice(0, 3) : hex)}`);
      if (mode === 'host' && parseInt(hex.slice(1), 16) < 0x80 && hex !== '%25') throw new UrlError(`invalid URL escape ${JSON.stringify(hex)}`);
      i += 3;
    } else {
      if ((mode === 'host' || mode === 'zone') && s.charCodeAt(i) < 0x80 && shouldEscape(s[i]!, mode)) throw new UrlError(`invalid character ${JSON.stringify(s[i])} in host name`);
      i++;
    }
  }
  if (n === 0 && !(mode === 'queryComponent' && s.includes('+'))) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; ) {
    if (s[i] === '%') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 3;
    } else if (s[i] === '+' && mode === 'queryComponent') {
      bytes.push(0x20);
      i++;
    } else {
      for (const b of Buffer.from(s[i]!, 'utf8')) bytes.push(b);
      i++;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function escape(s: string, mode: Mode): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (b >= 0x80 || shouldEscape(c, mode)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += c;
  }
  return out;
}

function validEncoded(s: string): boolean {
  for (const c of s) {
    if ("!$&'()*+,;=:@[]%".includes(c)) continue;
    if (c.charCodeAt(0) >= 0x80 || shouldEscape(c, 'path')) return false;
  }
  return true;
}

function getScheme(raw: string): [string, string] {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return ['', raw];
      continue;
    }
    if (c === ':') {
      if (i === 0) throw new UrlError('missing protocol scheme');
      return [raw.slice(0, i), raw.slice(i + 1)];
    }
    return ['', raw];
  }
  return ['', raw];
}

function validOptionalPort(port: string): boolean {
  return port === '' || /^:[0-9]*$/.test(port);
}

function parseHost(host: string): string {
  if (host.startsWith('[')) {
    const end = host.lastIndexOf(']');
    if (end < 0) throw new UrlError("missing ']' in host");
    const colonPort = host.slice(end + 1);
    if (!validOptionalPort(colonPort)) throw new UrlError(`invalid port ${JSON.stringify(colonPort)} after host`);
    return host.slice(0, end + 1).replace(/%25/g, '%') + colonPort;
  }
  const colon = host.lastIndexOf(':');
  if (colon !== -1) {
    const colonPort = host.slice(colon);
    if (!validOptionalPort(colonPort)) throw new UrlError(`invalid port ${JSON.stringify(colonPort)} after host`);
  }
  return unescape(host, 'host');
}

function parse(raw: string, viaRequest: boolean): GoUrl {
  if (/[\x00-\x1f\x7f]/.test(raw)) throw new UrlError('net/url: invalid control character in URL');
  if (raw === '' && viaRequest) throw new UrlError('empty url');
  const url: GoUrl = { scheme: '', opaque: '', host: '', path: '', rawPath: '', rawQuery: '' };
  if (raw === '*') {
    url.path = '*';
    return url;
  }
  let [scheme, rest] = getScheme(raw);
  url.scheme = scheme.toLowerCase();
  if (rest.endsWith('?') && rest.split('?').length === 2) rest = rest.slice(0, -1);
  else {
    const q = rest.indexOf('?');
    if (q >= 0) {
      url.rawQuery = rest.slice(q + 1);
      rest = rest.slice(0, q);
    }
  }
  if (!rest.startsWith('/')) {
    if (url.scheme !== '') {
      url.opaque = rest;
      return url;
    }
    if (viaRequest) throw new UrlError('invalid URI for request');
    const colon = rest.indexOf(':');
    const slash = rest.indexOf('/');
    if (colon >= 0 && (slash < 0 || colon < slash)) throw new UrlError('first path segment in URL cannot contain colon');
  }
  if ((url.scheme !== '' || (!viaRequest && !rest.startsWith('///'))) && rest.startsWith('//')) {
    const afterSlashes = rest.slice(2);
    const slash = afterSlashes.indexOf('/');
    const authority = slash < 0 ? afterSlashes : afterSlashes.slice(0, slash);
    rest = slash < 0 ? '' : afterSlashes.slice(slash);
    const at = authority.lastIndexOf('@');
    const host = at < 0 ? authority : authority.slice(at + 1);
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      for (const c of userinfo) {
        if (!/[A-Za-z0-9\-._:~!$&'()*+,;=%@]/.test(c)) throw new UrlError('net/url: invalid userinfo');
      }
    }
    url.host = parseHost(host);
  }
  url.path = unescape(rest, 'path');
  url.rawPath = escape(url.path, 'path') === rest ? '' : rest;
  return url;
}

function parseRequestUri(raw: string): GoUrl {
  try {
    return parse(raw, true);
  } catch (error) {
    throw new UrlError(`parse ${JSON.stringify(raw)}: ${(error as Error).message}`);
  }
}

function parseUrl(raw: string): GoUrl {
  const hash = raw.indexOf('#');
  try {
    return parse(hash < 0 ? raw : raw.slice(0, hash), false);
  } catch (error) {
    throw new UrlError(`parse ${JSON.stringify(raw)}: ${(error as Error).message}`);
  }
}

function splitHostPort(host: string): [string, string] {
  let name = host;
  let port = '';
  const colon = host.lastIndexOf(':');
  if (colon !== -1 && validOptionalPort(host.slice(colon))) {
    name = host.slice(0, colon);
    port = host.slice(colon + 1);
  }
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  return [name, port];
}

function escapedPath(url: GoUrl): string {
  if (url.rawPath !== '' && validEncoded(url.rawPath)) {
    try {
      if (unescape(url.rawPath, 'path') === url.path) return url.rawPath;
    } catch {
      // not a valid encoding of the path: escape the path instead, as Go does
    }
  }
  if (url.path === '*') return '*';
  return escape(url.path, 'path');
}

function query(rawQuery: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const part of rawQuery.split('&')) {
    if (part === '' || part.includes(';')) continue;
    const eq = part.indexOf('=');
    let key: string;
    let value: string;
    try {
      key = unescape(eq < 0 ? part : part.slice(0, eq), 'queryComponent');
      value = unescape(eq < 0 ? '' : part.slice(eq + 1), 'queryComponent');
    } catch {
      continue;
    }
    const list = values.get(key);
    if (list === undefined) values.set(key, [value]);
    else list.push(value);
  }
  return values;
}

/** net/url's ParseRequestURI error for s, or undefined when s parses. */
export function requestUriError(text: string): string | undefined {
  try {
    parseRequestUri(text);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const u = (value: unknown): GoUrl => opaque<GoUrl>(value, typeName);

export const urlLibrary: CelFunc[] = [
  celFunc('url', [STRING], DYN, (text) => {
    try {
      parseRequestUri(text);
      return asValue(new Opaque(typeName, text, parseUrl(text), text));
    } catch (error) {
      throw new Error(`URL parse error during conversion from string: ${(error as Error).message}`);
    }
  }),
  celFunc('isURL', [STRING], BOOL, (text) => {
    try {
      parseRequestUri(text);
      return true;
    } catch {
      return false;
    }
  }),
  celMethod('getScheme', OBJECT, [], STRING, function () {
    return u(this).scheme;
  }),
  celMethod('getHost', OBJECT, [], STRING, function () {
    return u(this).host;
  }),
  celMethod('getHostname', OBJECT, [], STRING, function () {
    return splitHostPort(u(this).host)[0];
  }),
  celMethod('getPort', OBJECT, [], STRING, function () {
    return splitHostPort(u(this).host)[1];
  }),
  celMethod('getEscapedPath', OBJECT, [], STRING, function () {
    return escapedPath(u(this));
  }),
  celMethod('getQuery', OBJECT, [], mapType(STRING, listType(STRING)), function () {
    return query(u(this).rawQuery) as unknown as Map<string, CelValue>;
  }),
];
