// The arithmetic of self-managed serving certificates: what is issued verifies as a TLS client checks it, a pair
// is refused for each reason it may not be served, rotation falls at 80% of the validity, and the caBundle carries
// the new CA and the earlier ones still valid.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, createServer as tlsCreateServer } from 'node:tls';
import { describe, it } from 'node:test';
import {
  bundleHolds,
  earliestExpiry,
  issuerIn,
  issueServingCert,
  leafOf,
  mergeCaBundle,
  parsePemBundle,
  pruneCaBundle,
  refusePair,
  rotationDue,
  validityOf,
} from '../../src/server/serving-cert/pki.js';

const names = ['ai-apiserver.ai-system.svc', 'localhost'];
const hour = 3_600_000;

/** The leaf's subject as Node's TLS client reports the peer, after verifying it against `ca` for `servername`. */
async function handshake(pair: { cert: string; key: string }, ca: string, servername: string): Promise<string> {
  const server = tlsCreateServer({ cert: pair.cert, key: pair.key }, (socket) => socket.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const socket = tlsConnect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', servername, ca });
    await once(socket, 'secureConnect');
    const serial = socket.getPeerX509Certificate()!.serialNumber;
    socket.destroy();
    return serial;
  } finally {
    server.close();
  }
}

describe('self-managed serving certificates', () => {
  it('a pair issued for the Service names verifies against its CA in a real TLS handshake, for each name', async () => {
    const pair = await issueServingCert({ dnsNames: names, ips: ['127.0.0.1'], lifetimeMs: hour });
    assert.equal(refusePair(pair, { dnsNames: names, caBundle: pair.ca }), undefined);
    for (const name of names) assert.equal(await handshake(pair, pair.ca, name), leafOf(pair.cert).serialNumber);
    await assert.rejects(handshake(pair, pair.ca, 'other.ai-system.svc'), /altnames/);
    const ca = new X509Certificate(pair.ca);
    assert.equal(ca.ca, true);
    assert.notEqual(ca.subject, leafOf(pair.cert).subject);
  });

  it('each pair gets a CA of its own, and a client trusting only the old CA refuses the new pair', async () => {
    const first = await issueServingCert({ dnsNames: names, ips: [], lifetimeMs: hour });
    const second = await issueServingCert({ dnsNames: names, ips: [], lifetimeMs: hour });
    assert.notEqual(leafOf(first.cert).serialNumber, leafOf(second.cert).serialNumber);
    await assert.rejects(handshake(second, first.ca, names[0]!), /certificate/);
    const both = mergeCaBundle(second.ca, first.ca);
    assert.equal(await handshake(first, both, names[0]!), leafOf(first.cert).serialNumber);
    assert.equal(await handshake(second, both, names[0]!), leafOf(second.cert).serialNumber);
  });

  it('validity is the lifetime, backdated a tenth of it (at most 5 minutes); rotation is due at 80% of it', async () => {
    const now = new Date('2026-11-30T00:00:00Z');
    const short = await issueServingCert({ dnsNames: names, ips: [], lifetimeMs: 100_000, now });
    assert.deepEqual(validityOf(leafOf(short.cert)), { notBefore: new Date('2026-11-29T23:59:50Z'), notAfter: new Date('2026-11-30T00:01:40Z') });
    assert.deepEqual(rotationDue(validityOf(leafOf(short.cert))), new Date('2026-11-30T00:01:18Z'));
    const long = await issueServingCert({ dnsNames: names, ips: [], lifetimeMs: 365 * 24 * hour, now });
    assert.deepEqual(validityOf(leafOf(long.cert)).notBefore, new Date('2026-11-29T23:55:00Z'));
  });

  it('a pair is refused for each reason it may not be served', async () => {
    const now = new Date();
    const pair = await issueServingCert({ dnsNames: names, ips: [], lifetimeMs: hour, now });
    const other = await issueServingCert({ dnsNames: names, ips: [], lifetimeMs: hour, now });
    const cases: { name: string; pair: { cert: string; key: string }; options: Parameters<typeof refusePair>[1]; want: RegExp | undefined }[] = [
      { name: 'usable', pair, options: { dnsNames: names, caBundle: pair.ca }, want: undefined },
      { name: 'key of another pair', pair: { cert: pair.cert, key: other.key }, options: {}, want: /private key does not match/ },
      { name: 'key that is no key', pair: { cert: pair.cert, key: 'nonsense' }, options: {}, want: /private key does not parse/ },
      { name: 'no certificate', pair: { cert: '', key: pair.key }, options: {}, want: /does not parse/ },
      { name: 'expired', pair, options: { now: new Date(now.getTime() + 2 * hour) }, want: /expired at/ },
      { name: 'not yet valid', pair, options: { now: new Date(now.getTime() - hour) }, want: /not valid before/ },
      { name: 'a name missing', pair, options: { dnsNames: [...names, 'ai-apiserver.ai-system.svc.cluster.local'] }, want: /does not name ai-apiserver.ai-system.svc.cluster.local/ },
      { name: 'signed by no CA of the bundle', pair, options: { caBundle: other.ca }, want: /no CA of the bundle/ },
    ];
    for (const c of cases) {
      const got = refusePair(c.pair, c.options);
      if (c.want === undefined) assert.equal(got, undefined, c.name);
      else assert.match(got ?? '', c.want, c.name);
    }
  });

  it('the bundle after a rotation holds the new CA first, then the earlier ones still valid, each once', async () => {
    const now = new Date();
    const old = await issueServingCert({ dnsNames: names, ips: [], lifetimeMs: hour, now: new Date(now.getTime() - 50 * 60_000) });
    const older = await issueServingCert({ dnsNames: names, ips: [], lifetimeMs: hour, now: new Date(now.getTime() - 2 * hour) });
    const next = await issueServingCert({ dnsNames: names, ips: [], lifetimeMs: hour, now });
    const bundle = mergeCaBundle(next.ca, `${old.ca}${older.ca}${old.ca}`, now);
    assert.deepEqual(parsePemBundle(bundle).map((c) => c.fingerprint256), [next.ca, old.ca].map((pem) => new X509Certificate(pem).fingerprint256));
    assert.equal(issuerIn(next.cert, bundle)?.fingerprint256, new X509Certificate(next.ca).fingerprint256);
    assert.equal(issuerIn(old.cert, bundle)?.fingerprint256, new X509Certificate(old.ca).fingerprint256);
    assert.equal(issuerIn(older.cert, bundle), undefined);
    assert.ok(bundleHolds(bundle, next.ca) && bundleHolds(bundle, old.ca) && !bundleHolds(bundle, older.ca));
    assert.deepEqual(earliestExpiry(bundle), validityOf(new X509Certificate(old.ca)).notAfter);
    assert.equal(pruneCaBundle(bundle, now), undefined);
    const later = new Date(now.getTime() + 15 * 60_000);
    assert.deepEqual(parsePemBundle(pruneCaBundle(bundle, later)!).map((c) => c.fingerprint256), [new X509Certificate(next.ca).fingerprint256]);
  });
});
