// A load failure worded for the Dataset's status, and whether trying again could help.

export class LoadError extends Error {
  /**
   * @param permanent true when another attempt would fail the same way (404, 403, a wrong credential, a missing
   *   bucket): the pod exits with loaderExit.permanent and the Job fails without retrying.
   */
  constructor(
    message: string,
    readonly permanent: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'LoadError';
  }
}

/** An error that may pass on retry: a reset or refused connection, a timeout, a premature end, a 5xx. */
export function isTransient(error: unknown): boolean {
  if (error instanceof LoadError) return !error.permanent;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && transientCodes.has(code);
}

const transientCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/** The text of any error, on one line (a termination message the Dataset's status shows). */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/g, ' ').trim();
}
