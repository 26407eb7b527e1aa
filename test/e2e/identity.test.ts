// Authorization comes before the body, as in kube-apiserver's handler chain: a user who may not create gets the
// 403 whatever the body is (malformed, over the size limit, of a media type nobody reads). The expected answer is
// kube-apiserver's own for a CustomResourceDefinition generated from the same schema (group crd-identity.example.io);
// this server is asked directly, as kube-apiserver's front proxy asks it, since kube-apiserver would refuse the
// request itself before proxying it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { after, beforeEach, describe, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { testBed } from '../support/test-bed.js';

const ours = 'ai.example.io';
const golden = 'crd-identity.example.io';
const ns = 'identity';
let cluster: LocalCluster;

const bed = testBed({
  name: 'identity',
  serverArgs: ['--no-controllers'],
  namespaces: [ns],
  crdGroup: golden,
});
beforeEach(async () => void (cluster = await bed.ready()));
after(() => bed.stop());

interface Answer {
  status: number;
  body: string;
}

/**
 * A request to this server as kube-apiserver's front proxy sends it on behalf of `user`. The body's first
 * `sentBytes` go out and the request then waits for the answer: a server that reads the body before it authorizes
 * would wait for the rest.
 */
function asFrontProxy(user: string, path: string, body: Buffer, contentType: string, sentBytes = body.length): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `https://127.0.0.1:${cluster.serverPort}${path}`,
      {
        method: 'POST',
        rejectUnauthorized: false,
        cert: readFileSync(cluster.frontProxyClient.cert),
        key: readFileSync(cluster.frontProxyClient.key),
        headers: { 'X-Remote-User': user, 'Content-Type': contentType, 'Content-Length': body.length, Accept: 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: text });
          req.destroy();
        });
      },
    );
    req.on('error', reject);
    req.write(body.subarray(0, sentBytes));
    if (sentBytes === body.length) req.end();
  });
}

/** The Status with the group named as GROUP, so the CRD's answer and ours compare. */
function statusOf(answer: Answer, group: string): unknown {
  return JSON.parse(answer.body.replaceAll(group, 'GROUP')) as unknown;
}

describe('a user who may not create is refused before the body is read', () => {
  const cases: Array<{ name: string; body: Buffer; contentType: string; sentBytes?: number }> = [
    { name: 'a malformed JSON body', body: Buffer.from('{"apiVersion": '), contentType: 'application/json' },
    { name: 'a body over the 3 MiB limit, of which 1 KiB is sent', body: Buffer.alloc(4 << 20, 0x20), contentType: 'application/json', sentBytes: 1024 },
    { name: 'a body that has not all arrived', body: Buffer.alloc(64 << 10, 0x20), contentType: 'application/json', sentBytes: 1024 },
    { name: 'a body of a media type nobody reads', body: Buffer.from('kind: Notebook'), contentType: 'text/plain' },
  ];
  for (const c of cases) {
    it(`${c.name}: 403 Forbidden, as kube-apiserver answers for a CRD`, { timeout: 30_000 }, async () => {
      const want = await cluster.request('carol', 'POST', `/apis/${golden}/v1alpha1/namespaces/${ns}/notebooks`, c.body.toString(), { 'content-type': c.contentType });
      assert.equal(want.status, 403, want.body);
      const got = await asFrontProxy('carol', `/apis/${ours}/v1alpha1/namespaces/${ns}/notebooks`, c.body, c.contentType, c.sentBytes);
      assert.equal(got.status, 403, got.body);
      assert.deepEqual(statusOf(got, ours), statusOf(want, golden));
    });
  }
});
