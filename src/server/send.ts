// Sends a serialized body with exactly the Content-Type given. Fastify rewrites the Content-Type of string bodies
// (quoting parameters, adding charset), and clients match kube's media types such as
// application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList byte for byte, so bodies go out as Buffers.
import type { FastifyReply } from 'fastify';

export function sendJson(reply: FastifyReply, body: string, contentType = 'application/json', code?: number): FastifyReply {
  if (code !== undefined) reply.code(code);
  return reply.header('Content-Type', contentType).send(Buffer.from(body));
}
