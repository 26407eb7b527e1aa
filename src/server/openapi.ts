// Serves /openapi/v2 and /openapi/v3 as kube-apiserver does: ETag and 304, a v3 index whose URLs carry the
// document's SHA-512, 301 from a stale hash, immutable caching for the current one, 406 for what is not JSON.
import { createHash } from 'node:crypto';
import type { HttpsFastify } from './types.js';
import { ApiError } from '../api/meta/errors.js';
import type { Strategy } from '../registry/strategy.js';
import { groupVersionOf, openApiV2, openApiV3 } from './openapi-document.js';
import { parseAccept } from './negotiation.js';
import { sendJson } from './send.js';

export function registerOpenApi(app: HttpsFastify, resources: readonly Strategy[]): void {
  const { group, version } = groupVersionOf(resources);
  const v2 = JSON.stringify(openApiV2(resources));
  const v3 = JSON.stringify(openApiV3(resources));
  const hashOf = (body: string): string => createHash('sha512').update(body).digest('hex').toUpperCase();
  const v2Tag = `"${hashOf(v2)}"`;
  const v3Hash = hashOf(v3);
  const gvPath = `apis/${group}/${version}`;
  const v3Url = `/openapi/v3/${gvPath}`;
  const index = JSON.stringify({ paths: { [gvPath]: { serverRelativeURL: `${v3Url}?hash=${v3Hash}` } } });

  app.get('/openapi/v2', async (request, reply) => {
    reply.header('ETag', v2Tag).header('Vary', 'Accept');
    if (request.headers['if-none-match'] === v2Tag) return reply.code(304).send();
    return sendJson(reply, v2);
  });

  app.get('/openapi/v3', async (_request, reply) => sendJson(reply, index));

  app.get(v3Url, async (request, reply) => {
    const ranges = parseAccept(request.headers.accept);
    const json = ranges.length === 0 || ranges.some((r) => r.type === 'application/json' || r.type === '*/*' || r.type === 'application/*');
    if (!json) throw new ApiError(406, 'NotAcceptable', 'only the following media types are accepted: application/json');
    const hash = (request.query as Record<string, string | undefined>).hash;
    if (hash !== undefined && hash !== v3Hash) return reply.redirect(`${v3Url}?hash=${v3Hash}`, 301);
    reply.header('ETag', `"${v3Hash}"`).header('Vary', 'Accept');
    reply.header('Cache-Control', hash === undefined ? 'no-cache, private' : 'public, immutable');
    if (request.headers['if-none-match'] === `"${v3Hash}"`) return reply.code(304).send();
    return sendJson(reply, v3);
  });
}
