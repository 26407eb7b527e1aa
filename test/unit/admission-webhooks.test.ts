// Webhook matching (kube's rules and selector predicates) and the webhook client against real HTTPS servers the test
// starts: a hostile answer past the size cap, a webhook that never answers, one that is down, an untrusted certificate.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { callWebhook, maxResponseBytes, WebhookCallError } from '../../src/admission/webhook/client.js';
import { labelSelectorMatches, ruleMatches } from '../../src/admission/rules.js';
import { objectSelectorMatches } from '../../src/admission/webhook/matching.js';
import { webhooksOf } from '../../src/admission/webhook/types.js';
import type { AdmissionAttributes } from '../../src/registry/admission.js';
import { Pki } from '../support/pki.js';

const attributes = (extra: Partial<AdmissionAttributes> = {}): AdmissionAttributes => ({
  operation: 'CREATE',
  kind: { group: 'ai.example.io', version: 'v1alpha1', kind: 'Notebook' },
  resource: { group: 'ai.example.io', version: 'v1alpha1', resource: 'notebooks' },
  subResource: '',
  name: 'a',
  namespace: 'team',
  object: { apiVersion: 'ai.example.io/v1alpha1', kind: 'Notebook', metadata: { name: 'a', labels: { tier: 'gold' } } },
  oldObject: null,
  dryRun: false,
  options: null,
  userInfo: { name: 'alice', uid: '', groups: [], extra: {} },
  ...extra,
});

describe('webhook rules and selectors', () => {
  const rule = { operations: ['CREATE'], apiGroups: ['ai.example.io'], apiVersions: ['v1alpha1'], resources: ['notebooks'] };

  it('matches operation, group, version and resource, with wildcards', () => {
    assert.equal(ruleMatches(rule, attributes()), true);
    assert.equal(ruleMatches(rule, attributes({ operation: 'UPDATE' })), false);
    assert.equal(ruleMatches({ ...rule, operations: ['*'] }, attributes({ operation: 'DELETE' })), true);
    assert.equal(ruleMatches({ ...rule, apiGroups: ['other.io'] }, attributes()), false);
    assert.equal(ruleMatches({ ...rule, apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }, attributes()), true);
  });

  it('a resource without a subresource never matches a subresource; "notebooks/status", "*/status" and "*/*" do', () => {
    const status = attributes({ subResource: 'status', operation: 'UPDATE' });
    const update = { ...rule, operations: ['UPDATE'] };
    assert.equal(ruleMatches(update, status), false);
    assert.equal(ruleMatches({ ...update, resources: ['notebooks/status'] }, status), true);
    assert.equal(ruleMatches({ ...update, resources: ['notebooks/status'] }, attributes({ operation: 'UPDATE' })), false);
    assert.equal(ruleMatches({ ...update, resources: ['*/status'] }, status), true);
    assert.equal(ruleMatches({ ...update, resources: ['*/*'] }, status), true);
    assert.equal(ruleMatches({ ...update, resources: ['*/*'] }, attributes({ operation: 'UPDATE' })), true);
    assert.equal(ruleMatches({ ...update, resources: ['*'] }, status), false);
  });

  it('scope: Namespaced matches namespaced requests, Cluster does not', () => {
    assert.equal(ruleMatches({ ...rule, scope: 'Namespaced' }, attributes()), true);
    assert.equal(ruleMatches({ ...rule, scope: 'Cluster' }, attributes()), false);
    assert.equal(ruleMatches({ ...rule, scope: '*' }, attributes()), true);
  });

  it('label selectors: matchLabels and every operator; the object selector looks at the old object too', () => {
    assert.equal(labelSelectorMatches({ matchLabels: { tier: 'gold' } }, { tier: 'gold' }), true);
    assert.equal(labelSelectorMatches({ matchLabels: { tier: 'gold' } }, undefined), false);
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold'] }] }, { tier: 'gold' }), true);
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['gold'] }] }, {}), true);
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, {}), false);
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, {}), true);
    assert.equal(labelSelectorMatches({ matchLabels: { toString: 'x' } }, {}), false);
    const deleting = attributes({ operation: 'DELETE', object: null, oldObject: attributes().object });
    assert.equal(objectSelectorMatches({ matchLabels: { tier: 'gold' } }, deleting), true);
    assert.equal(objectSelectorMatches({ matchLabels: { tier: 'silver' } }, deleting), false);
    assert.equal(objectSelectorMatches({}, attributes({ object: null })), true);
  });

  it("null labels (a mutating webhook's patch) are no labels to the object selector, as kube reads them", () => {
    const unlabelled = attributes({ object: { apiVersion: 'ai.example.io/v1alpha1', kind: 'Notebook', metadata: { name: 'a', labels: null } } as unknown as AdmissionAttributes['object'] });
    assert.equal(objectSelectorMatches({ matchLabels: { tier: 'gold' } }, unlabelled), false);
    assert.equal(objectSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, unlabelled), true);
  });

  it('webhooks in configuration name order, each configuration in its own order, with kube defaults', () => {
    const hooks = webhooksOf([
      { metadata: { name: 'b' }, webhooks: [{ name: 'b2.x.io', clientConfig: {} }, { name: 'b1.x.io', clientConfig: {}, failurePolicy: 'Ignore', timeoutSeconds: 3 }] },
      { metadata: { name: 'a' }, webhooks: [{ name: 'a1.x.io', clientConfig: {} }] },
    ]);
    assert.deepEqual(hooks.map((h) => [h.uid, h.failurePolicy, h.timeoutSeconds]), [
      ['a/a1.x.io/0', 'Fail', 10],
      ['b/b2.x.io/0', 'Fail', 10],
      ['b/b1.x.io/1', 'Ignore', 3],
    ]);
  });
});

describe('webhook client against real HTTPS servers', () => {
  let dir: string;
  let server: Server;
  let base = '';
  let caBundle = '';
  let otherCaBundle = '';
  const sockets = new Set<Socket>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ai-apiserver-webhook-'));
    const pki = new Pki(dir);
    const ca = pki.ca('ca', 'webhook CA');
    const other = pki.ca('other', 'another CA');
    const serving = pki.issue('serving', ca, { cn: 'webhook', usage: 'server', ips: ['127.0.0.1'], dns: ['localhost'] });
    caBundle = Buffer.from(ca.pem).toString('base64');
    otherCaBundle = Buffer.from(other.pem).toString('base64');
    server = createServer({ cert: readFileSync(serving.cert), key: readFileSync(serving.key) }, (req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url?.startsWith('/huge')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          const chunk = Buffer.alloc(64 * 1024, 'x');
          let sent = 0;
          const write = (): void => {
            while (sent <= maxResponseBytes + chunk.length) {
              sent += chunk.length;
              if (!res.write(chunk)) return void res.once('drain', write);
            }
            res.end();
          };
          write();
        } else if (req.url?.startsWith('/hang')) {
          // Never answers.
        } else if (req.url?.startsWith('/status-500')) {
          res.writeHead(500).end('boom');
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ query: req.url }));
        }
      });
    });
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (path: string, timeoutSeconds = 10, bundle = caBundle, signal?: AbortSignal): Promise<unknown> =>
    callWebhook({ name: 'w.x.io', config: { url: `${base}${path}`, caBundle: bundle }, body: '{}', timeoutSeconds, ...(signal ? { signal } : {}) });

  const failsWith = async (promise: Promise<unknown>, message: string | RegExp): Promise<WebhookCallError> => {
    let caught: unknown;
    try {
      await promise;
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof WebhookCallError, `expected a WebhookCallError, got ${String(caught)}`);
    if (typeof message === 'string') assert.equal(caught.message, message);
    else assert.match(caught.message, message);
    return caught;
  };

  it('posts with ?timeout=Ns, trusting the caBundle', async () => {
    assert.deepEqual(await call('/ok', 7), { query: '/ok?timeout=7s' });
  });

  it('an answer past the cap fails the call, whatever it would have said', async () => {
    await failsWith(call('/huge'), new RegExp(`failed to call webhook: Post "${base}/huge\\?timeout=10s": the response is larger than ${maxResponseBytes} bytes$`));
  });

  it('a webhook that never answers fails at its timeout, as Go says it', async () => {
    await failsWith(call('/hang', 1), `failed calling webhook "w.x.io": failed to call webhook: Post "${base}/hang?timeout=1s": context deadline exceeded`);
  });

  it('a request that goes away cancels the call', async () => {
    const abort = new AbortController();
    const pending = call('/hang', 30, caBundle, abort.signal);
    abort.abort();
    const error = await failsWith(pending, /context canceled$/);
    assert.equal(error.cancelled, true);
  });

  it('a certificate the caBundle does not trust, a webhook that is down, an error status', async () => {
    await failsWith(call('/ok', 10, otherCaBundle), /tls: failed to verify certificate: x509: certificate signed by unknown authority$/);
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const dead = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await failsWith(
      callWebhook({ name: 'w.x.io', config: { url: `https://127.0.0.1:${dead}/x`, caBundle }, body: '{}', timeoutSeconds: 5 }),
      `failed calling webhook "w.x.io": failed to call webhook: Post "https://127.0.0.1:${dead}/x?timeout=5s": dial tcp 127.0.0.1:${dead}: connect: connection refused`,
    );
    const error = await failsWith(call('/status-500'), /an error on the server \("boom"\) has prevented the request from succeeding$/);
    assert.equal(error.status.code, 500);
  });
});
