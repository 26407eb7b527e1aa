// Turns registry results into response bodies: JSON, Table, PartialObjectMetadata(List) and watch event lines.
// Lists are produced as a sequence of chunks built from each object's cached JSON, never one giant string.
import { columnDefinitions } from '../api/meta/printers.js';
import { initialEventsEndAnnotation, type KubeObject, type ListMeta } from '../api/meta/types.js';
import type { ResourceInfo, Strategy } from '../registry/strategy.js';
import type { ListResult, ReadObject } from '../registry/store.js';
import type { WatcherEvent } from '../storage/watch-cache.js';
import type { Representation } from './negotiation.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface EncodeContext {
  info: ResourceInfo;
  /** The Table columns of the resource (its definition's). */
  printerColumns: Strategy['printerColumns'];
  representation: Representation;
  includeObject: IncludeObject;
}

function partialMetadata(object: KubeObject): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
}

/** `object` is `read`'s decoded once by the caller: the cache decodes on every access. */
function tableRow(ctx: EncodeContext, read: ReadObject, object: KubeObject, now: number): string {
  const cells = ctx.printerColumns.map((column) => column.cell(object, now));
  const included =
    ctx.includeObject === 'None' ? '' : `,"object":${ctx.includeObject === 'Object' ? read.json : JSON.stringify(partialMetadata(object))}`;
  return `{"cells":${JSON.stringify(cells)}${included}}`;
}

function tableOfOne(ctx: EncodeContext, read: ReadObject, withColumns: boolean): string {
  const object = read.object;
  return `${tableHead(ctx, { resourceVersion: object.metadata.resourceVersion }, withColumns)}${tableRow(ctx, read, object, Date.now())}]}`;
}

function tableHead(ctx: EncodeContext, meta: ListMeta, withColumns: boolean): string {
  const columns = withColumns ? JSON.stringify(columnDefinitions(ctx.printerColumns)) : '[]';
  return `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":${JSON.stringify(meta)},"columnDefinitions":${columns},"rows":[`;
}

export function encodeObject(ctx: EncodeContext, read: ReadObject): string {
  switch (ctx.representation) {
    case 'json':
      return read.json;
    case 'metadata':
      return JSON.stringify(partialMetadata(read.object));
    case 'table':
      return tableOfOne(ctx, read, true);
  }
}

function listMeta(result: ListResult): ListMeta {
  const meta: ListMeta = { resourceVersion: result.resourceVersion };
  if (result.continue) meta.continue = result.continue;
  if (result.remainingItemCount !== undefined) meta.remainingItemCount = result.remainingItemCount;
  return meta;
}

/** The chunks of a list response, about 64 KiB each. */
export function* encodeList(ctx: EncodeContext, result: ListResult): Generator<string> {
  const meta = JSON.stringify(listMeta(result));
  let head: string;
  let item: (read: ReadObject) => string;
  const now = Date.now();
  switch (ctx.representation) {
    case 'json':
      head = `{"kind":"${ctx.info.listKind}","apiVersion":"${ctx.info.group}/${ctx.info.version}","metadata":${meta},"items":[`;
      item = (read) => read.json;
      break;
    case 'metadata':
      head = `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":${meta},"items":[`;
      item = (read) => JSON.stringify(partialMetadata(read.object));
      break;
    case 'table':
      head = tableHead(ctx, listMeta(result), true);
      item = (read) => tableRow(ctx, read, read.object, now);
      break;
  }
  let chunk = head;
  for (let i = 0; i < result.items.length; i++) {
    chunk += (i === 0 ? '' : ',') + item(result.items[i]!);
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}]}`;
}

/** One line of a watch stream. `first` decides whether a Table event carries the column definitions. */
export function encodeWatchEvent(ctx: EncodeContext, event: WatcherEvent, first: boolean): string {
  switch (event.type) {
    case 'ERROR':
      throw new Error('ERROR events are encoded by the caller from a Status');
    case 'BOOKMARK': {
      const metadata: Record<string, unknown> = { resourceVersion: String(event.revision) };
      if (event.initialEventsEnd) metadata.annotations = { [initialEventsEndAnnotation]: 'true' };
      const object =
        ctx.representation === 'json'
          ? { kind: ctx.info.kind, apiVersion: `${ctx.info.group}/${ctx.info.version}`, metadata }
          : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata };
      return `{"type":"BOOKMARK","object":${JSON.stringify(object)}}\n`;
    }
    default: {
      const body = ctx.representation === 'table' ? tableOfOne(ctx, event.object, first) : encodeObject(ctx, event.object);
      return `{"type":"${event.type}","object":${body}}\n`;
    }
  }
}
