// The certificate arithmetic of a self-managed serving certificate, with no I/O: issuing a CA and a serving pair
// (through the selfsigned library, no hand-written ASN.1), judging whether a stored pair may be served, when it is
// due for rotation, and which CAs the APIService's caBundle carries.
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

/** A pair to serve and the CAs a client should trust for it (the signing CA first; older ones during an overlap). */
export interface ServingCert {
  cert: string;
  key: string;
  ca: string;
}

export interface IssueOptions {
  dnsNames: readonly string[];
  ips: readonly string[];
  lifetimeMs: number;
  now?: Date;
}

/** Share of a certificate's validity after which a new one is issued: kubelet and cert-manager renew at 2/3–80%. */
export const rotationFraction = 0.8;

/** notBefore is set this far back (at most 5 minutes, a tenth of short lifetimes) so clocks a little behind accept it. */
export function backdateMs(lifetimeMs: number): number {
  return Math.min(5 * 60_000, lifetimeMs / 10);
}

/** A fresh CA and a serving certificate it signs; the CA's key is dropped: the next rotation makes a new CA. */
export async function issueServingCert(options: IssueOptions): Promise<ServingCert> {
  const now = options.now ?? new Date();
  const notBeforeDate = new Date(now.getTime() - backdateMs(options.lifetimeMs));
  const notAfterDate = new Date(now.getTime() + options.lifetimeMs);
  const common = { keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate, notAfterDate } as const;
  // Named as kube names its self-signed serving CAs (<name>-ca@<unix seconds>), plus a random part: TLS clients look
  // a leaf's issuer up by name, so two CAs of one bundle must never share one, even when issued in the same second.
  const caName = `ai-apiserver-ca@${Math.floor(now.getTime() / 1000)}-${randomBytes(4).toString('hex')}`;
  const ca = await generate([{ name: 'commonName', value: caName }], {
    ...common,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, critical: true },
    ],
  });
  const serving = await generate([{ name: 'commonName', value: options.dnsNames[0] ?? 'ai-apiserver' }], {
    ...common,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...options.dnsNames.map((value) => ({ type: 2 as const, value })), ...options.ips.map((ip) => ({ type: 7 as const, ip }))],
      },
    ],
  });
  return { cert: serving.cert, key: serving.private, ca: ca.cert };
}

export function parsePemBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

/** The first certificate of a PEM chain: the one served. */
export function leafOf(pem: string): X509Certificate {
  const leaf = parsePemBundle(pem)[0];
  if (!leaf) throw new Error('no certificate in PEM');
  return leaf;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

export function validityOf(cert: X509Certificate): Validity {
  return { notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
}

/** What a log line says of a pair: its serial and expiry. */
export function summary(pair: { cert: string }): { serial: string; notAfter: string } {
  const leaf = leafOf(pair.cert);
  return { serial: leaf.serialNumber, notAfter: validityOf(leaf).notAfter.toISOString() };
}

/** When a certificate is due for replacement: at rotationFraction of its validity. */
export function rotationDue(validity: Validity): Date {
  const start = validity.notBefore.getTime();
  return new Date(start + rotationFraction * (validity.notAfter.getTime() - start));
}

function dnsNamesOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4));
}

/**
 * Why a pair may not be served, or undefined when it may: the key matches the certificate, it is valid now, it
 * names every DNS name asked for and, when `caBundle` is given, one of those CAs signed it.
 */
export function refusePair(pair: { cert: string; key: string }, options: { dnsNames?: readonly string[]; caBundle?: string; now?: Date }): string | undefined {
  let leaf: X509Certificate;
  try {
    leaf = leafOf(pair.cert);
  } catch (error) {
    return `the certificate does not parse: ${(error as Error).message}`;
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(pair.key))) return 'the private key does not match the certificate';
  } catch (error) {
    return `the private key does not parse: ${(error as Error).message}`;
  }
  const now = (options.now ?? new Date()).getTime();
  const { notBefore, notAfter } = validityOf(leaf);
  if (now >= notAfter.getTime()) return `the certificate expired at ${notAfter.toISOString()}`;
  if (now < notBefore.getTime()) return `the certificate is not valid before ${notBefore.toISOString()}`;
  const names = dnsNamesOf(leaf);
  const missing = (options.dnsNames ?? []).filter((name) => !names.includes(name));
  if (missing.length > 0) return `the certificate does not name ${missing.join(', ')}`;
  if (options.caBundle !== undefined) {
    let cas: X509Certificate[];
    try {
      cas = parsePemBundle(options.caBundle);
    } catch (error) {
      return `the CA bundle does not parse: ${(error as Error).message}`;
    }
    if (!cas.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))) return 'no CA of the bundle signed the certificate';
  }
  return undefined;
}

/** The CA that signed `certPem` among `bundle`, if any. */
export function issuerIn(certPem: string, bundle: string): X509Certificate | undefined {
  const leaf = leafOf(certPem);
  return parsePemBundle(bundle).find((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
}

/** True when every certificate of `needed` is in `bundle`. */
export function bundleHolds(bundle: string, needed: string): boolean {
  const held = new Set(parsePemBundle(bundle).map((cert) => cert.fingerprint256));
  return parsePemBundle(needed).every((cert) => held.has(cert.fingerprint256));
}

/**
 * The caBundle after a rotation: the new CA first, then the earlier ones still valid, so a client that trusts the
 * bundle accepts both the pair being replaced and its successor while replicas swap one for the other.
 */
export function mergeCaBundle(newCa: string, previous: string, now = new Date()): string {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const cert of [...parsePemBundle(newCa), ...parsePemBundle(previous)]) {
    if (seen.has(cert.fingerprint256) || new Date(cert.validTo).getTime() <= now.getTime()) continue;
    seen.add(cert.fingerprint256);
    kept.push(cert.toString().trim());
  }
  return `${kept.join('\n')}\n`;
}

/** The bundle without its expired CAs, or undefined when none has expired. */
export function pruneCaBundle(bundle: string, now = new Date()): string | undefined {
  const cas = parsePemBundle(bundle);
  const live = cas.filter((cert) => new Date(cert.validTo).getTime() > now.getTime());
  if (live.length === cas.length) return undefined;
  return live.length === 0 ? '' : `${live.map((cert) => cert.toString().trim()).join('\n')}\n`;
}

/** The earliest moment a CA of the bundle expires. */
export function earliestExpiry(bundle: string): Date | undefined {
  const times = parsePemBundle(bundle).map((cert) => new Date(cert.validTo).getTime());
  return times.length === 0 ? undefined : new Date(Math.min(...times));
}
