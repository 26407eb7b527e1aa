// s3://bucket/prefix sources through the AWS SDK: every object under the prefix, each written under its key
// relative to the prefix (s3://b/corpus holds corpus/a/x.txt → a/x.txt; s3://b/corpus/x.txt names one object →
// x.txt). Credentials come from the SDK's default chain, where the Dataset's Secret puts them as environment
// variables; an endpoint override is addressed path-style, as S3-compatible stores expect. A resume is a ranged
// GetObject conditioned on the listed ETag (If-Match).
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { Open, Opened } from './download.js';
import { LoadError } from './errors.js';

export interface S3Object {
  key: string;
  /** The file's path inside the dataset. */
  path: string;
  size: number;
  etag?: string;
}

export interface S3Options {
  endpoint?: string;
  region?: string;
  idleTimeoutMs: number;
}

export class S3Source {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;

  constructor(
    readonly uri: string,
    options: S3Options,
  ) {
    const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
    if (!match) throw new LoadError(`${uri}: not an s3://bucket/prefix URI`, true);
    this.bucket = match[1]!;
    this.prefix = match[2]!;
    this.client = new S3Client({
      region: options.region || 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
      // Checksums only where S3 requires them: S3-compatible stores differ in which they send, and every file's
      // size is checked against the listing anyway.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 10_000, socketTimeout: options.idleTimeoutMs },
    });
  }

  /** Every object under the prefix, with its path in the dataset. Folder markers (keys ending in '/') are skipped. */
  async list(signal: AbortSignal): Promise<S3Object[]> {
    const objects: S3Object[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(
        () => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }), { abortSignal: signal }),
        `s3://${this.bucket}/${this.prefix}`,
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key ?? '';
        const path = this.relative(key);
        if (path === undefined || key.endsWith('/')) continue;
        objects.push({ key, path, size: object.Size ?? 0, ...(object.ETag ? { etag: object.ETag } : {}) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (objects.length === 0) throw new LoadError(`${this.uri}: no objects under this prefix in bucket ${this.bucket}`, true);
    return objects;
  }

  /**
   * A key's path in the dataset, or undefined for a key that only shares the prefix's letters (s3://b/corpus
   * lists corpus2/x too; it is not under corpus/).
   */
  private relative(key: string): string | undefined {
    const prefix = this.prefix;
    if (prefix === '' || prefix.endsWith('/')) return key.slice(prefix.length);
    if (key === prefix) return prefix.split('/').pop();
    if (key.startsWith(`${prefix}/`)) return key.slice(prefix.length + 1);
    return undefined;
  }

  open(object: S3Object): Open {
    const whole = async (signal: AbortSignal): Promise<Opened> => this.get(object, undefined, undefined, signal);
    return async (offset, validator, signal) => {
      if (offset === 0 || !validator) return whole(signal);
      try {
        return await this.get(object, offset, validator, signal);
      } catch (error) {
        // The object changed since the partial file was started: take the new one whole.
        if (error instanceof LoadError && error.cause === 'PreconditionFailed') return whole(signal);
        throw error;
      }
    };
  }

  private async get(object: S3Object, offset: number | undefined, ifMatch: string | undefined, signal: AbortSignal): Promise<Opened> {
    const where = `s3://${this.bucket}/${object.key}`;
    const answer = await this.call(
      () =>
        this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: object.key, ...(offset ? { Range: `bytes=${offset}-`, IfMatch: ifMatch } : {}) }),
          { abortSignal: signal },
        ),
      where,
    );
    const range = /^bytes (\d+)-\d+\/(\d+)$/.exec(answer.ContentRange ?? '');
    const start = range ? Number(range[1]) : 0;
    const total = range ? Number(range[2]) : answer.ContentLength;
    return { start, ...(total !== undefined ? { total } : {}), validator: answer.ETag, etag: answer.ETag, body: answer.Body as Readable };
  }

  /** Runs one S3 call, turning the store's refusals into messages a Dataset's status can show. */
  private async call<T>(send: () => Promise<T>, where: string): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw this.explain(error, where);
    }
  }

  private explain(error: unknown, where: string): unknown {
    if (error instanceof S3ServiceException) {
      const status = error.$metadata.httpStatusCode ?? 0;
      const said = `${error.name}${error.message && error.message !== error.name && error.message !== 'UnknownError' ? `: ${error.message}` : ''}`;
      const known: Record<string, string> = {
        NoSuchBucket: `bucket ${this.bucket} does not exist`,
        NoSuchKey: 'the object does not exist',
        InvalidAccessKeyId: 'the access key ID is not known to the store: check the Secret named in spec.source.secretRef',
        SignatureDoesNotMatch: 'the secret access key does not match the access key ID: check the Secret named in spec.source.secretRef',
        AccessDenied: 'access denied: the credentials may not read this bucket or prefix',
        PermanentRedirect: 'the bucket is in another region: set spec.source.region',
        AuthorizationHeaderMalformed: 'the request was signed for the wrong region: set spec.source.region',
      };
      if (error.name === 'PreconditionFailed' || status === 412) return new LoadError(`${where}: the object changed`, false, { cause: 'PreconditionFailed' });
      const explained = Object.hasOwn(known, error.name) ? known[error.name] : undefined;
      const transient = status >= 500 || status === 429 || error.name === 'SlowDown' || error.name === 'RequestTimeout';
      return new LoadError(`${where}: ${explained ? `${explained} (${said})` : `${said} (HTTP ${status})`}`, !transient);
    }
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'CredentialsProviderError') {
      return new LoadError(`${where}: no credentials found: name a Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in spec.source.secretRef`, true);
    }
    if (name === 'TimeoutError') return Object.assign(error as Error, { code: 'ETIMEDOUT' });
    return error;
  }
}
