// What the dataset loader and the Dataset controller agree on: the environment the prefetch Job hands the loader,
// where the claims are mounted, what its exit codes mean and what it leaves in the claim.

/** Environment variables the loader reads; the controller sets them on the loader container. */
export const loaderEnv = {
  /** The Dataset's spec.source.uri. */
  source: 'SOURCE_URI',
  /** spec.source.endpoint: an S3-compatible store, addressed path-style. */
  s3Endpoint: 'S3_ENDPOINT',
  /** spec.source.region; the AWS SDK reads this name itself. */
  region: 'AWS_REGION',
  /** Keys of the Secret in spec.source.secretRef, handed over by secretKeyRef under the same names. */
  accessKeyId: 'AWS_ACCESS_KEY_ID',
  secretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  sessionToken: 'AWS_SESSION_TOKEN',
} as const;

/** Where the prefetch pod mounts the Dataset's claim (written) and, for pvc:// sources, the source claim (read-only). */
export const loaderMounts = { data: '/data', source: '/source' } as const;

/**
 * Exit codes. A permanent failure (404, 403, a wrong credential, a missing bucket or prefix) fails the Job at once
 * through its podFailurePolicy; any other failure is retried by the Job up to its backoffLimit, and the new pod
 * resumes what the last one left in the claim.
 */
export const loaderExit = { transient: 1, permanent: 2 } as const;

/** Written last, atomically, into the Dataset's claim: its presence means every file is complete. */
export const manifestName = '.dataset.json';

/** What the loader writes to its termination message on success; on failure the message is one line of text. */
export interface LoaderReport {
  bytes: number;
  files: number;
}

/** The report in a termination message, or undefined when the message is not one (a failure's text). */
export function parseLoaderReport(message: string): LoaderReport | undefined {
  try {
    const report = JSON.parse(message) as { bytes?: unknown; files?: unknown };
    if (typeof report.bytes === 'number' && typeof report.files === 'number') return { bytes: report.bytes, files: report.files };
  } catch {
    // a failure's message is text, not JSON
  }
  return undefined;
}

/** The loader's entrypoint in the server's image, which the prefetch Job runs as its command. */
export const loaderCommand = ['/usr/local/bin/ai-dataset-loader'] as const;
