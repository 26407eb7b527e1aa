// The largest request body the server reads, shared by Fastify's body limit and the 413 that reports it.

/**
 * kube-apiserver's MaxRequestBodyBytes: twice etcd's default 1.5 MiB request size, since a body arrives as JSON and
 * is smaller once stored.
 */
export const maxRequestBodyBytes = 3 * 1024 * 1024;
