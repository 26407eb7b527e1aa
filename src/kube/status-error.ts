// Every refusal a client of the API gets surfaces as one typed error carrying the server's own Status: no client-side
// guessing. The SDK exports it; the transport raises it.
import type { Status, StatusCause } from '../api/meta/types.js';

export class StatusError extends Error {
  readonly status: Status;

  constructor(status: Status) {
    super(status.message ?? `${status.code} ${status.reason ?? ''}`.trim());
    this.name = 'StatusError';
    this.status = status;
  }

  get code(): number {
    return this.status.code;
  }

  get reason(): string | undefined {
    return this.status.reason;
  }

  get causes(): StatusCause[] {
    return this.status.details?.causes ?? [];
  }
}

/** A Status for an answer that did not carry one (a proxy's HTML error page, a dropped connection). */
export function statusFromResponse(code: number, body: string): Status {
  try {
    const parsed = JSON.parse(body) as Partial<Status>;
    if (parsed.kind === 'Status') return parsed as Status;
  } catch {
    // Not JSON: described below.
  }
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code, message: body.trim() || `HTTP ${code}`, reason: code === 0 ? 'ConnectionFailed' : 'Unknown' };
}
