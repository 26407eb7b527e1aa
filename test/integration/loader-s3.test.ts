// The dataset loader as a process against a real S3-compatible server: moto's, started by the test. Every object
// under a prefix, with paths relative to it and over more than one page of listing, and a download cut midway that
// resumes; then, with request authentication enforced (moto checks each request's access key, its signature and
// the user's IAM policies once told to through /moto-api/reset-auth), the right credentials, wrong ones, a policy
// that does not reach the bucket, a missing bucket and a missing prefix, each with a clear message. Prefixes
// containing '/' are loaded before authentication is enforced: moto recomputes a signature from the query string as
// received and encodes it once more (%2F → %252F), so the SDK's Prefix=a%2Fb, encoded as SigV4 requires, never
// matches there.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, type Dirent } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { runLoader, startMoto, type Moto } from '../support/loader.js';

const mib = 1024 * 1024;
const scratch = mkdtempSync(join(tmpdir(), 'loader-s3-'));
let moto: Moto;
let users: Record<'reader' | 'outsider', { id: string; secret: string }>;

const corpus: Record<string, Buffer> = {
  'corpus/a.txt': Buffer.from('alpha\n'),
  'corpus/deep/b.bin': randomBytes(5 * mib + 3),
  'corpus/deep/c.json': Buffer.from('{"c":1}\n'),
};
const manyCount = 1003;

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

before(async () => {
  moto = await startMoto();
  const s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'setup', secretAccessKey: 'setup' } });
  await s3.send(new CreateBucketCommand({ Bucket: 'datasets' }));
  const put = (key: string, body: Buffer): Promise<unknown> => s3.send(new PutObjectCommand({ Bucket: 'datasets', Key: key, Body: body }));
  for (const [key, body] of Object.entries(corpus)) await put(key, body);
  await put('corpus/folder/', Buffer.alloc(0));
  await put('corpus2/not-under-corpus.txt', Buffer.from('sibling\n'));
  for (let i = 0; i < manyCount; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, manyCount - i) }, (_, j) => put(`many/part-${String(i + j).padStart(5, '0')}`, Buffer.from(`${i + j}\n`))));
  }
  s3.destroy();
  // reader may do anything in S3; outsider only in a bucket that is not the datasets'.
  users = { reader: moto.createUser('reader', '*'), outsider: moto.createUser('outsider', 'arn:aws:s3:::elsewhere/*') };
});

after(async () => {
  await moto?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

function env(source: string, user: { id: string; secret: string } = users.reader): Record<string, string> {
  return {
    SOURCE_URI: source,
    DATA_DIR: mkdtempSync(join(scratch, 'claim-')),
    S3_ENDPOINT: moto.endpoint,
    AWS_ACCESS_KEY_ID: user.id,
    AWS_SECRET_ACCESS_KEY: user.secret,
    LOADER_BACKOFF_MS: '20',
  };
}

describe('s3:// sources', () => {
  it('a prefix holding more objects than one listing page returns', async () => {
    const settings = env('s3://datasets/many/');
    const run = await runLoader(settings);
    assert.equal(run.code, 0, run.message + run.stderr);
    const report = JSON.parse(run.message) as { bytes: number; files: number };
    assert.equal(report.files, manyCount);
    assert.equal(tree(settings.DATA_DIR!).length, manyCount + 1);
    assert.equal(readFileSync(join(settings.DATA_DIR!, 'part-01002'), 'utf8'), '1002\n');
  });

  it('a GetObject cut midway resumes with a ranged GetObject conditioned on the ETag; the file is byte-identical', async () => {
    // A TCP proxy in front of moto that cuts the first connection to carry more than 1 MiB back, and notes the
    // ranged requests that pass through it.
    const ranges: string[] = [];
    let cut = false;
    const proxy: Server = createServer((client) => {
      const upstream = connect(Number(new URL(moto.endpoint).port), '127.0.0.1');
      let down = 0;
      client.on('data', (chunk: Buffer) => {
        const head = chunk.toString('latin1');
        const range = /^range: (.+)$/im.exec(head)?.[1]?.trim();
        const ifMatch = /^if-match: (.+)$/im.exec(head)?.[1]?.trim();
        if (range) ranges.push(`${range} if-match ${ifMatch}`);
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        down += chunk.length;
        if (!cut && down > mib) {
          cut = true;
          client.write(chunk.subarray(0, chunk.length - (down - mib)), () => (client.destroy(), upstream.destroy()));
          return;
        }
        client.write(chunk);
      });
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const address = proxy.address() as { port: number };
      const settings: Record<string, string> = { ...env('s3://datasets/corpus/deep/b.bin'), S3_ENDPOINT: `http://127.0.0.1:${address.port}` };
      const run = await runLoader(settings);
      assert.equal(run.code, 0, run.message + run.stderr);
      assert.ok(cut, 'the proxy never cut a download');
      // One resume for the cut; a loaded machine may stall a later connection into another, each from further on.
      assert.ok(ranges.length >= 1, 'no ranged GetObject after the cut');
      for (const range of ranges) assert.match(range, /^bytes=\d+- if-match "[0-9a-f]+"$/);
      const offsets = ranges.map((range) => Number(/^bytes=(\d+)-/.exec(range)![1]));
      assert.ok(offsets[0]! <= mib, `the first resume starts past what was received: ${JSON.stringify(ranges)}`);
      assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), `resumes go back: ${JSON.stringify(ranges)}`);
      assert.equal(new Set(ranges.map((range) => range.split(' if-match ')[1])).size, 1, 'every resume is conditioned on the same ETag');
      const body = corpus['corpus/deep/b.bin']!;
      assert.equal(sha256(readFileSync(join(settings.DATA_DIR!, 'b.bin'))), sha256(body));
      assert.deepEqual(JSON.parse(run.message), { bytes: body.length, files: 1 });
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('a key naming one object loads that object under its own name', async () => {
    const settings = env('s3://datasets/corpus/deep/c.json');
    const run = await runLoader(settings);
    assert.equal(run.code, 0, run.message + run.stderr);
    assert.deepEqual(tree(settings.DATA_DIR!), ['.dataset.json', 'c.json']);
  });

});

describe('s3:// credentials, with authentication enforced', () => {
  before(async () => moto.enforceAuth());

  it('every object under the prefix, at its path relative to the prefix; siblings sharing the letters and folder markers are not', async () => {
    const settings = env('s3://datasets/corpus');
    const run = await runLoader(settings);
    assert.equal(run.code, 0, run.message + run.stderr);
    const bytes = Object.values(corpus).reduce((sum, b) => sum + b.length, 0);
    assert.deepEqual(JSON.parse(run.message), { bytes, files: 3 });
    assert.deepEqual(tree(settings.DATA_DIR!), ['.dataset.json', 'a.txt', 'deep/b.bin', 'deep/c.json']);
    for (const [key, body] of Object.entries(corpus)) assert.equal(sha256(readFileSync(join(settings.DATA_DIR!, key.slice('corpus/'.length)))), sha256(body), key);

    // Loading the same source again into the same claim (its Job deleted to run it again) fetches nothing unchanged.
    const again = await runLoader({ ...settings, LOG_LEVEL: 'debug' });
    assert.equal(again.code, 0, again.message + again.stderr);
    assert.deepEqual(JSON.parse(again.message), { bytes, files: 3 });
    assert.deepEqual(again.logs.filter((l) => l.msg === 'already loaded by an earlier attempt').map((l) => l.path).sort(), ['a.txt', 'deep/b.bin', 'deep/c.json']);
    assert.deepEqual(tree(settings.DATA_DIR!), ['.dataset.json', 'a.txt', 'deep/b.bin', 'deep/c.json']);
  });

  const refusals: { name: string; source: string; user?: () => { id: string; secret: string }; message: RegExp }[] = [
    {
      name: 'a wrong secret key',
      source: 's3://datasets/corpus',
      user: () => ({ id: users.reader.id, secret: 'not-the-secret' }),
      message: /^s3:\/\/datasets\/corpus: the secret access key does not match the access key ID: check the Secret named in spec\.source\.secretRef \(SignatureDoesNotMatch: .+\)$/,
    },
    {
      name: 'an access key the store does not know',
      source: 's3://datasets/corpus',
      user: () => ({ id: 'AKIAUNKNOWN000000000', secret: users.reader.secret }),
      message: /^s3:\/\/datasets\/corpus: the access key ID is not known to the store: check the Secret named in spec\.source\.secretRef \(InvalidAccessKeyId: .+\)$/,
    },
    {
      name: 'credentials whose policy does not reach the bucket',
      source: 's3://datasets/corpus',
      user: () => users.outsider,
      message: /^s3:\/\/datasets\/corpus: access denied: the credentials may not read this bucket or prefix \(AccessDenied: .+\)$/,
    },
    { name: 'a missing bucket', source: 's3://no-such-bucket/x', message: /^s3:\/\/no-such-bucket\/x: bucket no-such-bucket does not exist \(NoSuchBucket: .+\)$/ },
    { name: 'a prefix with no objects', source: 's3://datasets/absent', message: /^s3:\/\/datasets\/absent: no objects under this prefix in bucket datasets$/ },
  ];
  for (const tc of refusals) {
    it(`${tc.name}: exit code 2 and a clear termination message, nothing written`, async () => {
      const settings = env(tc.source, tc.user?.());
      const run = await runLoader(settings);
      assert.equal(run.code, 2, run.message + run.stderr);
      assert.match(run.message, tc.message);
      assert.deepEqual(tree(settings.DATA_DIR!), []);
    });
  }
});
