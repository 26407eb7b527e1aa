// Certificates for a local control plane, made with the openssl command: CAs, serving and client certificates.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Issued {
  cert: string;
  key: string;
  /** PEM contents of the certificate. */
  pem: string;
}

function run(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export class Pki {
  constructor(readonly dir: string) {}

  /**
   * A self-signed CA. For programs that check a CA by host name, parse only PKCS#1 RSA keys or renew what expires
   * within a month: `dns` names it as well, `rsa` gives it such a key, `days` outlives 30 days.
   */
  ca(name: string, cn: string, options: { dns?: string[]; rsa?: boolean; days?: number } = {}): Issued {
    const key = join(this.dir, `${name}.key`);
    const cert = join(this.dir, `${name}.crt`);
    const sans = (options.dns ?? []).map((d) => `DNS:${d}`);
    const newKey = options.rsa ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    run(['req', '-x509', ...newKey, '-nodes', '-keyout', key, '-out', cert, '-days', String(options.days ?? 30), '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      ...(sans.length > 0 ? ['-addext', `subjectAltName=${sans.join(',')}`] : [])], this.dir);
    if (options.rsa) run(['rsa', '-in', key, '-out', key, '-traditional'], this.dir);
    return { cert, key, pem: readFileSync(cert, 'utf8') };
  }

  /** A certificate signed by `ca`: `server` with the given SANs, or `client` with CN and organizations (groups). */
  issue(name: string, ca: Issued, options: { cn: string; organizations?: string[]; usage: 'server' | 'client'; dns?: string[]; ips?: string[]; days?: number }): Issued {
    const key = join(this.dir, `${name}.key`);
    const csr = join(this.dir, `${name}.csr`);
    const cert = join(this.dir, `${name}.crt`);
    const ext = join(this.dir, `${name}.ext`);
    const subject = `/CN=${options.cn}${(options.organizations ?? []).map((o) => `/O=${o}`).join('')}`;
    run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', subject], this.dir);
    const sans = [...(options.dns ?? []).map((d) => `DNS:${d}`), ...(options.ips ?? []).map((i) => `IP:${i}`)];
    writeFileSync(
      ext,
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=${options.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
        ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
      ].join('\n'),
    );
    run(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', String(options.days ?? 30), '-extfile', ext], this.dir);
    return { cert, key, pem: readFileSync(cert, 'utf8') };
  }

  /** The key pair kube-apiserver signs service account tokens with. */
  serviceAccountKeys(): { key: string; pub: string } {
    const key = join(this.dir, 'sa.key');
    const pub = join(this.dir, 'sa.pub');
    run(['genrsa', '-out', key, '2048'], this.dir);
    run(['rsa', '-in', key, '-pubout', '-out', pub], this.dir);
    return { key, pub };
  }
}
