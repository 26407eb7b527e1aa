// The dataset loader as a process against a real HTTP(S) server this test runs: whole files, a download cut midway
// that resumes with a Range request (within one run, and in the next run as a retried pod would), an object that
// changed between attempts (If-Range), a 404 and a 403 with clear messages, a size mismatch; and pvc:// copies.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runLoader } from '../support/loader.js';
import { Pki } from '../support/pki.js';

interface Served {
  body: Buffer;
  etag: string;
  /** Cut the connection after this many bytes of the answers named by `cut`. */
  cutAt?: number;
  cut?: 'first' | 'always';
  /** Served once the first answer has been cut: the object changed on the server meanwhile. */
  next?: { body: Buffer; etag: string };
}

interface Seen {
  path: string;
  range?: string;
  ifRange?: string;
  status: number;
}

const mib = 1024 * 1024;
const objects = new Map<string, Served>();
const seen: Seen[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'loader-http-'));
let http: Server;
let https: Server;
let base = '';
let secureBase = '';
let ca = '';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

function serve(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const range = req.headers.range;
  const ifRange = req.headers['if-range'] as string | undefined;
  const record = (status: number): void => void seen.push({ path, status, ...(range ? { range } : {}), ...(ifRange ? { ifRange } : {}) });
  if (path === '/stalls.bin') {
    // Half the file, then nothing more for as long as the client waits.
    record(200);
    res.writeHead(200, { 'Content-Length': 2 * mib, ETag: '"st"' });
    res.write(Buffer.alloc(mib, 1));
    return;
  }
  if (path === '/forbidden.bin') {
    record(403);
    res.writeHead(403).end('no');
    return;
  }
  const object = objects.get(path);
  if (!object) {
    record(404);
    res.writeHead(404).end('not here');
    return;
  }
  const first = !seen.some((s) => s.path === path);
  const from = range && (!ifRange || ifRange === object.etag) ? Number(/^bytes=(\d+)-$/.exec(range)?.[1] ?? 0) : 0;
  const total = object.body.length;
  const headers: Record<string, string | number> = { ETag: object.etag, 'Accept-Ranges': 'bytes', 'Content-Length': total - from };
  const status = from > 0 ? 206 : 200;
  if (from > 0) headers['Content-Range'] = `bytes ${from}-${total - 1}/${total}`;
  record(status);
  res.writeHead(status, headers);
  const cutHere = object.cutAt !== undefined && (object.cut === 'always' || first);
  if (!cutHere) {
    res.end(object.body.subarray(from));
    return;
  }
  const until = Math.max(from, object.cutAt!);
  const cut = (): void => {
    res.socket?.destroy();
    if (object.next) objects.set(path, { body: object.next.body, etag: object.next.etag });
  };
  if (until > from) res.write(object.body.subarray(from, until), cut);
  else res.flushHeaders(), setImmediate(cut);
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

before(async () => {
  const pki = new Pki(scratch);
  const authority = pki.ca('ca', 'loader test CA');
  const serving = pki.issue('serving', authority, { cn: 'localhost', usage: 'server', ips: ['127.0.0.1'] });
  ca = authority.cert;
  http = createHttpServer(serve);
  https = createHttpsServer({ cert: readFileSync(serving.cert), key: readFileSync(serving.key) }, serve);
  base = `http://127.0.0.1:${await listen(http)}`;
  secureBase = `https://127.0.0.1:${await listen(https)}`;
});

after(async () => {
  await Promise.all([http, https].map((s) => new Promise((resolve) => (s ? s.close(resolve) : resolve(undefined)))));
  rmSync(scratch, { recursive: true, force: true });
});

/** A fresh folder standing for the Dataset's claim. */
function claim(): string {
  const dir = mkdtempSync(join(scratch, 'claim-'));
  return dir;
}

/** Every file name under a folder, hidden ones included, '/'-separated. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

const fast = { LOADER_BACKOFF_MS: '20', LOG_LEVEL: 'debug' };

describe('http(s) sources', () => {
  it('a multi-MB file over HTTPS arrives whole: bytes and files in the termination message, a manifest, nothing partial left', async (t) => {
    const body = randomBytes(32 * mib);
    objects.set('/models/weights.bin', { body, etag: '"w1"' });
    const data = claim();
    const started = process.hrtime.bigint();
    const run = await runLoader({ ...fast, SOURCE_URI: `${secureBase}/models/weights.bin`, DATA_DIR: data, NODE_EXTRA_CA_CERTS: ca });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    assert.equal(run.code, 0, run.message + run.stderr);
    assert.deepEqual(JSON.parse(run.message), { bytes: body.length, files: 1 });
    assert.equal(sha256(readFileSync(join(data, 'weights.bin'))), sha256(body));
    assert.deepEqual(tree(data), ['.dataset.json', 'weights.bin']);
    const manifest = JSON.parse(readFileSync(join(data, '.dataset.json'), 'utf8')) as { source: string; bytes: number; files: number };
    assert.deepEqual({ source: manifest.source, bytes: manifest.bytes, files: manifest.files }, { source: `${secureBase}/models/weights.bin`, bytes: body.length, files: 1 });
    assert.ok(run.logs.some((l) => l.msg === 'progress' && l.bytes === body.length), 'a progress line with every byte');
    t.diagnostic(`32 MiB over local HTTPS in ${seconds.toFixed(2)} s, process start included: ${(32 / seconds).toFixed(1)} MiB/s`);
  });

  it('a download cut midway resumes with a Range request conditioned on the ETag; the result is byte-identical', async () => {
    const body = randomBytes(6 * mib);
    objects.set('/cut.bin', { body, etag: '"c1"', cutAt: 2 * mib + 12345, cut: 'first' });
    const data = claim();
    const run = await runLoader({ ...fast, SOURCE_URI: `${base}/cut.bin`, DATA_DIR: data });
    assert.equal(run.code, 0, run.message + run.stderr);
    const requests = seen.filter((s) => s.path === '/cut.bin');
    assert.equal(requests.length, 2, JSON.stringify(requests));
    assert.equal(requests[0]!.range, undefined);
    const resumedFrom = Number(/^bytes=(\d+)-$/.exec(requests[1]!.range ?? '')?.[1]);
    assert.ok(resumedFrom > 0 && resumedFrom <= 2 * mib + 12345, `resumed from ${requests[1]!.range}`);
    assert.equal(requests[1]!.ifRange, '"c1"');
    assert.equal(requests[1]!.status, 206);
    assert.equal(sha256(readFileSync(join(data, 'cut.bin'))), sha256(body));
    assert.deepEqual(JSON.parse(run.message), { bytes: body.length, files: 1 });
    assert.ok(run.logs.some((l) => l.msg === 'download interrupted'), 'the interruption is logged');
  });

  it('a run that fails midway leaves only a hidden partial file; the next run (a retried pod) resumes it', async () => {
    const body = randomBytes(5 * mib);
    objects.set('/retried.bin', { body, etag: '"r1"', cutAt: 3 * mib, cut: 'first' });
    const data = claim();
    const failed = await runLoader({ ...fast, SOURCE_URI: `${base}/retried.bin`, DATA_DIR: data, LOADER_ATTEMPTS: '1' });
    assert.equal(failed.code, 1, 'an interruption is transient: exit code 1, for the Job to retry');
    assert.match(failed.message, /^size mismatch: the connection ended after \d+ bytes of 5242880; gave up after 1 attempt$/);
    assert.ok(!existsSync(join(data, 'retried.bin')), 'an incomplete file under its own name');
    assert.ok(!existsSync(join(data, '.dataset.json')), 'a manifest for an incomplete load');
    assert.deepEqual(tree(data), ['.retried.bin.partial', '.retried.bin.partial.json']);
    const kept = readFileSync(join(data, '.retried.bin.partial')).length;
    assert.ok(kept > 0);

    const retried = await runLoader({ ...fast, SOURCE_URI: `${base}/retried.bin`, DATA_DIR: data });
    assert.equal(retried.code, 0, retried.message + retried.stderr);
    const last = seen.filter((s) => s.path === '/retried.bin').at(-1)!;
    assert.deepEqual(last, { path: '/retried.bin', status: 206, range: `bytes=${kept}-`, ifRange: '"r1"' });
    assert.equal(sha256(readFileSync(join(data, 'retried.bin'))), sha256(body));
    assert.deepEqual(tree(data), ['.dataset.json', 'retried.bin']);
  });

  it('an object that changed between attempts is not stitched: If-Range fails, the server sends it whole, and the new bytes are kept', async () => {
    const before = randomBytes(3 * mib);
    const now = randomBytes(3 * mib + 7);
    objects.set('/moving.bin', { body: before, etag: '"m1"', cutAt: mib, cut: 'first', next: { body: now, etag: '"m2"' } });
    const data = claim();
    const run = await runLoader({ ...fast, SOURCE_URI: `${base}/moving.bin`, DATA_DIR: data });
    assert.equal(run.code, 0, run.message + run.stderr);
    const requests = seen.filter((s) => s.path === '/moving.bin');
    assert.equal(requests[1]!.ifRange, '"m1"');
    assert.equal(requests[1]!.status, 200);
    assert.equal(sha256(readFileSync(join(data, 'moving.bin'))), sha256(now));
    assert.deepEqual(JSON.parse(run.message), { bytes: now.length, files: 1 });
  });

  it('SIGTERM mid-download: a transient failure saying so, the partial file kept for the next pod, nothing complete-looking', async () => {
    const data = claim();
    const run = await runLoader({ ...fast, SOURCE_URI: `${base}/stalls.bin`, DATA_DIR: data, LOADER_PROGRESS_MS: '100' }, (child) => {
      // Signalled once the loader reports its first progress: the stalled body has begun to arrive.
      let seenProgress = false;
      child.stdout!.on('data', (chunk: Buffer) => {
        if (!seenProgress && chunk.toString().includes('"msg":"progress"') && /"bytes":[1-9]/.test(chunk.toString())) {
          seenProgress = true;
          child.kill('SIGTERM');
        }
      });
    });
    assert.equal(run.code, 1, run.message + run.stderr);
    assert.equal(run.message, 'interrupted by SIGTERM');
    assert.deepEqual(tree(data), ['.stalls.bin.partial', '.stalls.bin.partial.json']);
    assert.ok(readFileSync(join(data, '.stalls.bin.partial')).length > 0);
  });

  it('a 404 fails at once with a clear message and the permanent exit code', async () => {
    const data = claim();
    const run = await runLoader({ ...fast, SOURCE_URI: `${base}/nothing/here.tar?sig=secret`, DATA_DIR: data });
    assert.equal(run.code, 2);
    assert.equal(run.message, `${base}/nothing/here.tar: HTTP 404 Not Found: the file does not exist on the server`);
    assert.equal(seen.filter((s) => s.path === '/nothing/here.tar').length, 1, 'a 404 is not retried');
    assert.deepEqual(tree(data), []);
  });

  it('a 403 fails at once, saying the server refuses it', async () => {
    const run = await runLoader({ ...fast, SOURCE_URI: `${base}/forbidden.bin`, DATA_DIR: claim() });
    assert.equal(run.code, 2);
    assert.equal(run.message, `${base}/forbidden.bin: HTTP 403 Forbidden: the server refuses to serve it (it needs credentials, or they are not allowed)`);
  });

  it('a server that always sends less than its Content-Length: a size mismatch once resumes stop making progress, and no file', async () => {
    const body = randomBytes(2 * mib);
    objects.set('/short.bin', { body, etag: '"s1"', cutAt: mib, cut: 'always' });
    const data = claim();
    const run = await runLoader({ ...fast, SOURCE_URI: `${base}/short.bin`, DATA_DIR: data, LOADER_ATTEMPTS: '3' });
    assert.equal(run.code, 1);
    // What the client had buffered when the connection dropped is not counted as received: up to the cut, not beyond.
    const received = Number(/^size mismatch: the connection ended after (\d+) bytes of 2097152; gave up after 3 attempts$/.exec(run.message)?.[1]);
    assert.ok(received > 0 && received <= mib, run.message);
    assert.ok(!existsSync(join(data, 'short.bin')));
    assert.deepEqual(tree(data), ['.short.bin.partial', '.short.bin.partial.json']);
    const resumes = seen.filter((s) => s.path === '/short.bin').slice(1);
    assert.ok(resumes.length >= 2 && resumes.every((s) => s.status === 206 && Number(/^bytes=(\d+)-$/.exec(s.range ?? '')?.[1]) <= received), JSON.stringify(resumes));
  });

  it('a URL whose path names no file is refused before any request', async () => {
    const run = await runLoader({ ...fast, SOURCE_URI: `${base}/folder/`, DATA_DIR: claim() });
    assert.equal(run.code, 2);
    assert.equal(run.message, `${base}/folder/: an http(s) source names one file, and this URL's path names none`);
  });
});

describe('pvc:// sources', () => {
  it('a folder of another claim is copied with its tree; symbolic links are skipped', async () => {
    const source = mkdtempSync(join(scratch, 'source-'));
    const files: Record<string, Buffer> = { 'corpus/a.txt': Buffer.from('alpha\n'), 'corpus/deep/b.bin': randomBytes(3 * mib), 'corpus/deep/er/c': Buffer.alloc(0) };
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(source, path, '..'), { recursive: true });
      writeFileSync(join(source, path), content);
    }
    writeFileSync(join(source, 'elsewhere.txt'), 'not part of it');
    symlinkSync('/etc/hostname', join(source, 'corpus', 'link'));
    const data = claim();
    const run = await runLoader({ ...fast, SOURCE_URI: 'pvc://shared/corpus', SOURCE_DIR: source, DATA_DIR: data });
    assert.equal(run.code, 0, run.message + run.stderr);
    assert.deepEqual(JSON.parse(run.message), { bytes: 6 + 3 * mib, files: 3 });
    assert.deepEqual(tree(data), ['.dataset.json', 'a.txt', 'deep/b.bin', 'deep/er/c']);
    for (const [path, content] of Object.entries(files)) assert.equal(sha256(readFileSync(join(data, path.slice('corpus/'.length)))), sha256(content), path);
  });

  it('a single file is copied under its own name; a missing path and a path out of the claim are refused', async () => {
    const source = mkdtempSync(join(scratch, 'source-'));
    writeFileSync(join(source, 'one.csv'), 'a,b\n1,2\n');
    const data = claim();
    const run = await runLoader({ ...fast, SOURCE_URI: 'pvc://shared/one.csv', SOURCE_DIR: source, DATA_DIR: data });
    assert.equal(run.code, 0, run.message + run.stderr);
    assert.deepEqual(tree(data), ['.dataset.json', 'one.csv']);
    const missing = await runLoader({ ...fast, SOURCE_URI: 'pvc://shared/nope', SOURCE_DIR: source, DATA_DIR: claim() });
    assert.equal(missing.code, 2);
    assert.equal(missing.message, 'pvc://shared/nope: no file or folder nope in claim shared');
    const outside = await runLoader({ ...fast, SOURCE_URI: 'pvc://shared/../etc', SOURCE_DIR: source, DATA_DIR: claim() });
    assert.equal(outside.code, 2);
    assert.equal(outside.message, 'pvc://shared/../etc: the path must stay inside claim shared');
  });
});
