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

function tableRow(ctx: EncodeContext, read: ReadObject, now: number): string {
  const cells = ctx.printerColumns.map((column) => column.cell(read.object, now));
  const object =
    ctx.includeObject === 'None' ? '' : `,"object":${ctx.includeObject === 'Object' ? read.json : JSON.stringify(partialMetadata(read.object))}`;
  return `{"cells":${JSON.stringify(cells)}${object}}`;
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
      return `${tableHead(ctx, { resourceVersion: read.object.metadata.resourceVersion }, true)}${tableRow(ctx, read, Date.now())}]}`;
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
      item = (read) => tableRow(ctx, read, now);
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
      const read: ReadObject = { object: event.object.object, json: event.object.json };
      let body: string;
      if (ctx.representation === 'table') {
        body = `${tableHead(ctx, { resourceVersion: read.object.metadata.resourceVersion }, first)}${tableRow(ctx, read, Date.now())}]}`;
      } else {
        body = encodeObject(ctx, read);
      }
      return `{"type":"${event.type}","object":${body}}\n`;
    }
  }
}
