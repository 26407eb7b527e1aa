// The audit log backend: JSON lines appended to a file (or standard output) without ever making a request wait, and
// rotated as kube-apiserver's lumberjack does: past --audit-log-maxsize the file is renamed to
// NAME-<UTC time>.EXT, a new one is started, and backups beyond --audit-log-maxbackup or older than
// --audit-log-maxage days are removed.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

export interface LogWriterOptions {
  path: string;
  maxAgeDays: number;
  maxBackups: number;
  maxSizeMB: number;
  /** Called for every line that could not be written (and so is lost), with why. */
  failed(error: Error): void;
}

/** Lines waiting in memory beyond this are dropped and counted as errors rather than growing without bound. */
const maxPendingBytes = 64 * 1024 * 1024;

export class AuditLogWriter {
  private stream: WriteStream | NodeJS.WriteStream | undefined;
  private size = 0;
  private rotating: Promise<void> | undefined;
  private held: string[] = [];
  private heldBytes = 0;

  constructor(private readonly options: LogWriterOptions) {}

  async open(): Promise<void> {
    if (this.options.path === '-') {
      this.stream = process.stdout;
      return;
    }
    // As lumberjack: the log's folder is made when missing.
    await mkdir(dirname(this.options.path), { recursive: true });
    this.size = await stat(this.options.path).then((s) => s.size, () => 0);
    this.stream = this.openFile();
  }

  /** Queues one line; returns at once. */
  write(line: string): void {
    const bytes = Buffer.byteLength(line) + 1;
    const stream = this.stream;
    const pending = (stream?.writableLength ?? 0) + this.heldBytes;
    if (pending + bytes > maxPendingBytes) {
      this.options.failed(new Error('audit log backlog full: event dropped'));
      return;
    }
    if (this.rotating || !stream) {
      this.held.push(line);
      this.heldBytes += bytes;
      return;
    }
    const limit = this.options.maxSizeMB * 1024 * 1024;
    if (limit > 0 && this.size > 0 && this.size + bytes > limit && this.options.path !== '-') {
      this.held.push(line);
      this.heldBytes += bytes;
      this.rotating = this.rotate().finally(() => (this.rotating = undefined)).then(() => this.flushHeld());
      return;
    }
    this.size += bytes;
    stream.write(`${line}\n`);
  }

  async close(): Promise<void> {
    // The held lines a rotation flushes may start the next rotation: wait for the last one.
    while (this.rotating) await this.rotating;
    const stream = this.stream;
    if (!stream || stream === process.stdout) return;
    await new Promise<void>((resolve) => (stream as WriteStream).end(resolve));
  }

  private openFile(): WriteStream {
    const stream = createWriteStream(this.options.path, { flags: 'a', mode: 0o600 });
    stream.on('error', (error) => this.options.failed(error));
    return stream;
  }

  private flushHeld(): void {
    const lines = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const line of lines) this.write(line);
  }

  private async rotate(): Promise<void> {
    const old = this.stream as WriteStream;
    await new Promise<void>((resolve) => old.end(resolve));
    const { path } = this.options;
    const ext = extname(path);
    const prefix = `${basename(path, ext)}-`;
    // lumberjack's backup name: the time of rotation, in a form that sorts and is valid on every file system.
    const stamp = new Date().toISOString().replace(/:/g, '-').replace(/Z$/, '');
    try {
      await rename(path, join(dirname(path), `${prefix}${stamp}${ext}`));
    } catch (error) {
      this.options.failed(error as Error);
    }
    this.size = 0;
    this.stream = this.openFile();
    await this.prune(prefix, ext).catch((error: Error) => this.options.failed(error));
  }

  private async prune(prefix: string, ext: string): Promise<void> {
    const { maxBackups, maxAgeDays } = this.options;
    if (maxBackups === 0 && maxAgeDays === 0) return;
    const dir = dirname(this.options.path);
    const backups = (await readdir(dir))
      .filter((name) => name.startsWith(prefix) && name.endsWith(ext) && /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}$/.test(name.slice(prefix.length, name.length - ext.length)))
      .sort()
      .reverse();
    const cutoff = Date.now() - maxAgeDays * 86_400_000;
    for (const [i, name] of backups.entries()) {
      const time = Date.parse(`${name.slice(prefix.length, prefix.length + 10)}T${name.slice(prefix.length + 11, prefix.length + 23).replace(/-/g, ':')}Z`);
      if ((maxBackups > 0 && i >= maxBackups) || (maxAgeDays > 0 && time < cutoff)) await unlink(join(dir, name));
    }
  }
}
