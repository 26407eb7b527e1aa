// How objects are keyed and serialized in storage. resourceVersion is never stored: it is the revision of the
// write, set on every read, as kube-apiserver's etcd3 store does.
import type { KubeObject } from '../api/meta/types.js';

export function objectKey(prefix: string, namespace: string, name: string): string {
  return `${prefix}${namespace}/${name}`;
}

export function encode(object: KubeObject): Buffer {
  const { resourceVersion: _dropped, ...metadata } = object.metadata;
  return Buffer.from(JSON.stringify({ ...object, metadata }));
}

export function decode(_key: string, value: Buffer, revision: number): { object: KubeObject; json: string } {
  const object = JSON.parse(value.toString('utf8')) as KubeObject;
  object.metadata = { ...object.metadata, resourceVersion: String(revision) };
  return { object, json: JSON.stringify(object) };
}
