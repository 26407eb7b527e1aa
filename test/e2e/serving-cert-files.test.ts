// Certificate files given with --tls-cert-file (cert-manager's Secret mounted as a volume) are taken into use
// without a restart when they change: laid out and swapped exactly as kubelet updates a Secret volume (timestamped
// folder, ..data symlink renamed over), the new pair is served to the next handshake; a broken pair is refused with
// an error line and the old one kept; a folder replaced whole, which sends no event to the watch, is caught by the
// periodic check. The standalone server, its TLS handshakes verified against the test's own CA.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, describe, it } from 'node:test';
import { until } from '../support/eventually.js';
import { Pki, type Issued } from '../support/pki.js';
import { startServer, type ServerProcess } from '../support/server.js';

const work = mkdtempSync(join(tmpdir(), 'ai-apiserver-cert-files-'));
const pki = new Pki(work);
const ca = pki.ca('ca', 'cert-files-test-ca');
const servers: ServerProcess[] = [];
after(async () => {
  for (const server of servers) await server.stop();
  rmSync(work, { recursive: true, force: true });
});

let issued = 0;
function pair(): Issued {
  return pki.issue(`serving-${issued++}`, ca, { cn: 'localhost', usage: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
}
const serialOf = (p: Issued): string => new X509Certificate(p.pem).serialNumber;

/** A Secret volume as kubelet writes it: files in a timestamped folder, reached through the ..data symlink. */
class SecretVolume {
  private generation = 0;
  private current = '';

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** kubelet's atomic update: new folder, ..data_tmp pointing at it, renamed over ..data, old folder removed. */
  write(cert: string, key: string): void {
    const folder = `..${new Date().toISOString().replace(/[-:.TZ]/g, '_')}${this.generation++}`;
    mkdirSync(join(this.dir, folder));
    writeFileSync(join(this.dir, folder, 'tls.crt'), cert);
    writeFileSync(join(this.dir, folder, 'tls.key'), key);
    symlinkSync(folder, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    if (this.current === '') {
      symlinkSync('..data/tls.crt', join(this.dir, 'tls.crt'));
      symlinkSync('..data/tls.key', join(this.dir, 'tls.key'));
    } else rmSync(join(this.dir, this.current), { recursive: true });
    this.current = folder;
  }
}

/** The serial the server presents to a new connection, verified against the test's CA for localhost. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.pem }, () => {
      const serial = socket.getPeerX509Certificate()!.serialNumber;
      socket.destroy();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}

/** The suite's waits, with the last log lines of `server` when one times out. */
function eventually(check: () => Promise<boolean>, what: string, server: ServerProcess, timeoutMs = 60_000): Promise<true> {
  return until(check, what, timeoutMs, { context: () => server.logs().slice(-3000) });
}

async function metric(server: ServerProcess, name: string): Promise<number> {
  const line = (await server.http('GET', '/metrics')).body.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('--tls-cert-file', () => {
  it('a Secret volume\'s update is served without a restart; a broken pair is refused and the old one kept', async () => {
    const volume = new SecretVolume(join(work, 'volume'));
    const first = pair();
    volume.write(first.pem, readFileSync(first.key, 'utf8'));
    // An hour between periodic checks: only the folder's watch can bring the new pair within the test.
    const server = await startServer({
      backend: 'sqlite',
      extraArgs: ['--tls-cert-file', join(volume.dir, 'tls.crt'), '--tls-private-key-file', join(volume.dir, 'tls.key'), '--tls-cert-check-interval', '1h'],
    });
    servers.push(server);
    const pid = server.child.pid;
    assert.equal(await servedSerial(server.port), serialOf(first));

    const second = pair();
    const started = Date.now();
    volume.write(second.pem, readFileSync(second.key, 'utf8'));
    await eventually(async () => (await servedSerial(server.port)) === serialOf(second), 'the updated pair served', server);
    process.stderr.write(`# new pair served ${Date.now() - started} ms after the Secret volume's swap\n`);
    assert.match(server.logs(), /serving certificate reloaded from its files/);
    assert.equal(await metric(server, 'ai_apiserver_serving_certificate_reloads_total{source="file",result="success"}'), 1);

    // A certificate with another pair's key: refused, the second pair still served.
    const third = pair();
    const fourth = pair();
    volume.write(third.pem, readFileSync(fourth.key, 'utf8'));
    await eventually(async () => /new serving certificate refused; still serving the previous one/.test(server.logs()), 'the refusal logged', server);
    assert.match(server.logs(), /the private key does not match the certificate/);
    assert.equal(await servedSerial(server.port), serialOf(second));
    assert.equal(await metric(server, 'ai_apiserver_serving_certificate_reloads_total{source="file",result="failure"}'), 1);
    assert.equal((await server.http('GET', '/readyz')).status, 200);

    volume.write(fourth.pem, readFileSync(fourth.key, 'utf8'));
    await eventually(async () => (await servedSerial(server.port)) === serialOf(fourth), 'the repaired pair served', server);
    assert.equal(server.child.pid, pid, 'no restart');
    const expiry = await metric(server, 'ai_apiserver_serving_certificate_expiration_timestamp_seconds');
    assert.equal(expiry * 1000, Date.parse(new X509Certificate(fourth.pem).validTo));
  });

  it('a folder replaced whole, of which the watch hears nothing, is picked up by the periodic check', async () => {
    const first = pair();
    const second = pair();
    for (const [name, p] of [['one', first], ['two', second]] as const) {
      mkdirSync(join(work, name));
      writeFileSync(join(work, name, 'tls.crt'), p.pem);
      writeFileSync(join(work, name, 'tls.key'), readFileSync(p.key, 'utf8'));
    }
    // The files are reached through a symlinked folder: the watch follows the folder it resolved at start.
    symlinkSync('one', join(work, 'current'));
    const server = await startServer({
      backend: 'sqlite',
      extraArgs: ['--tls-cert-file', join(work, 'current', 'tls.crt'), '--tls-private-key-file', join(work, 'current', 'tls.key'), '--tls-cert-check-interval', '1s'],
    });
    servers.push(server);
    assert.equal(await servedSerial(server.port), serialOf(first));
    symlinkSync('two', join(work, 'current-next'));
    renameSync(join(work, 'current-next'), join(work, 'current'));
    await eventually(async () => (await servedSerial(server.port)) === serialOf(second), 'the pair of the new folder served', server);
  });
});
