// The serving certificate: the files given, or a self-signed pair for loopback and the in-cluster Service names.
import { readFile } from 'node:fs/promises';
import { generate } from 'selfsigned';

export interface ServingCert {
  cert: string;
  key: string;
  /** The CA a client should trust: the certificate itself when self-signed. */
  ca: string;
}

export async function loadServingCert(certFile?: string, keyFile?: string): Promise<ServingCert> {
  if (certFile && keyFile) {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    return { cert, key, ca: cert };
  }
  const pems = await generate([{ name: 'commonName', value: 'ai-apiserver' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 2, value: 'ai-apiserver.ai-system.svc' },
          { type: 2, value: 'ai-apiserver.ai-system.svc.cluster.local' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private, ca: pems.cert };
}
