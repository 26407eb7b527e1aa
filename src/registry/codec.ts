// How objects are keyed and serialized in storage. resourceVersion is never stored: it is the revision of the
// write, set on every read, as kube-apiserver's etcd3 store does.
import type { KubeObject } from '../api/meta/types.js';
import { ApiError } from '../api/meta/errors.js';
import { CachedObject, type Decoder } from '../storage/watch-cache.js';

export function objectKey(prefix: string, namespace: string, name: string): string {
  return `${prefix}${namespace}/${name}`;
}

/**
 * The largest stored object. etcd refuses a request over its --max-request-bytes (1.5 MiB by default) with an
 * error kube-apiserver passes on as a server error; the key and the transaction's framing share that request, so
 * objects stay a little under it, refused with 413 before any write, on either backend (a SQLite store can then
 * move to etcd).
 */
export const maxStoredObjectBytes = 1.5 * 1024 * 1024 - 4 * 1024;

export function encode(object: KubeObject): Buffer {
  return encodeWrite(object).value;
}

/** A write's stored bytes, and what reading them back at the write's revision gives, without decoding them. */
export interface EncodedWrite {
  value: Buffer;
  /** The object and its JSON as decodeObject and JSON.stringify would give them at `revision`, byte for byte. */
  readAt(revision: number): { object: KubeObject; json: string };
}

/**
 * The stored JSON built member by member as JSON.stringify orders and skips them, so that the answer is the same
 * text with resourceVersion as metadata's last member: where decodeObject appends it, and where it stays when
 * parsed again, being no array index.
 */
export function encodeWrite(object: KubeObject): EncodedWrite {
  const { resourceVersion: _dropped, ...metadata } = object.metadata;
  const metadataJson = JSON.stringify(metadata);
  let before = '{';
  let after = '';
  let seenMetadata = false;
  for (const key of Object.keys(object)) {
    if (key === 'metadata') {
      before += `${before.length > 1 ? ',' : ''}"metadata":`;
      seenMetadata = true;
      continue;
    }
    const json = JSON.stringify((object as unknown as Record<string, unknown>)[key]);
    if (json === undefined) continue;
    const member = `${JSON.stringify(key)}:${json}`;
    if (!seenMetadata) before += before.length > 1 ? `,${member}` : member;
    else after += `,${member}`;
  }
  after += '}';
  const value = Buffer.from(before + metadataJson + after);
  if (value.length > maxStoredObjectBytes) throw objectTooLarge(value.length);
  return {
    value,
    readAt: (revision) => {
      const resourceVersion = String(revision);
      const json = `${before}${metadataJson.length > 2 ? `${metadataJson.slice(0, -1)},` : '{'}"resourceVersion":${JSON.stringify(resourceVersion)}}${after}`;
      return { object: { ...object, metadata: { ...metadata, resourceVersion } }, json };
    },
  };
}

export function objectTooLarge(bytes: number): ApiError {
  return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: the object is ${bytes} bytes; at most ${maxStoredObjectBytes} can be stored`);
}

/** How the watch cache keeps a resource's stored values: `fieldValues` reads what its field selectors select. */
export function cacheDecoder(fieldValues: (object: KubeObject) => Record<string, string>): Decoder {
  return (key, value, revision) => {
    const object = decodeObject(value, revision);
    return new CachedObject(key, JSON.stringify(object), revision, object.metadata.labels, fieldValues(object));
  };
}

/** The object alone, where its serialization is not wanted (a write's old object, a write's answer). */
export function decodeObject(value: Buffer, revision: number): KubeObject {
  const object = JSON.parse(value.toString('utf8')) as KubeObject;
  object.metadata = { ...object.metadata, resourceVersion: String(revision) };
  return object;
}
