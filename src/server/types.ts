// The Fastify instance this server runs: HTTPS, with a pino logger.
import type { Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

export type HttpsFastify = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>;
