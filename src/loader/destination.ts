// The Dataset's claim as the loader writes it: every file arrives under a hidden temporary name beside its final one
// (.NAME.partial, kept across attempts so a retry resumes it), is fsynced, then renamed, so a file under its own name
// is always complete; the manifest is written last, the same way. A journal of committed files lets a retried pod
// skip what an earlier one finished.
import { appendFile, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { manifestName } from './contract.js';
import { LoadError } from './errors.js';

const journalName = '.dataset-journal.jsonl';

/** What the journal records of a committed file: enough to tell the same object from a changed one. */
export interface Committed {
  path: string;
  source: string;
  bytes: number;
  etag?: string;
}

/** What a partial download's sidecar records: whence it came and the validator a resume must match. */
export interface PartialState {
  source: string;
  validator?: string;
  total?: number;
}

export class Destination {
  private journal = new Map<string, Committed>();

  constructor(readonly root: string) {}

  /**
   * The absolute path of a file named by the source, refusing names that would leave the claim (an S3 key
   * "../x", an absolute path, empty segments).
   */
  resolve(relative: string): string {
    const segments = relative.split('/');
    if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\0'))) {
      throw new LoadError(`refusing to write "${relative}": not a relative path inside the dataset`, true);
    }
    return join(this.root, ...segments);
  }

  /** The hidden names a file is downloaded under before it is committed. */
  partialOf(relative: string): { final: string; partial: string; state: string } {
    const final = this.resolve(relative);
    const partial = join(dirname(final), `.${basename(final)}.partial`);
    return { final, partial, state: `${partial}.json` };
  }

  /**
   * Starts a load: the manifest goes (the claim is about to change), its entries kept in the journal first, so that
   * loading the same source again (the Job deleted to run it again) fetches only what changed; the journal is read.
   */
  async begin(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const manifest = join(this.root, manifestName);
    try {
      const previous = JSON.parse(await readFile(manifest, 'utf8')) as { entries?: Committed[] };
      const lines = (previous.entries ?? []).filter((e) => typeof e.source === 'string').map((e) => `${JSON.stringify(e)}\n`);
      await appendFile(join(this.root, journalName), lines.join(''));
    } catch (error) {
      // No manifest, or one cut short: nothing to skip.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
    }
    await rm(manifest, { force: true });
    await syncDir(this.root);
    this.journal = new Map();
    let text = '';
    try {
      text = await readFile(join(this.root, journalName), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const line of text.split('\n')) {
      try {
        const entry = JSON.parse(line) as Committed;
        if (typeof entry.path === 'string') this.journal.set(entry.path, entry);
      } catch {
        // a line cut short by a crash: that file is downloaded again
      }
    }
  }

  /** Whether a file is already here from an earlier attempt: same source, same size, same ETag when there is one. */
  async alreadyHave(wanted: Committed): Promise<boolean> {
    const entry = this.journal.get(wanted.path);
    if (!entry || entry.source !== wanted.source || entry.bytes !== wanted.bytes || entry.etag !== wanted.etag) return false;
    try {
      return (await stat(this.resolve(wanted.path))).size === wanted.bytes;
    } catch {
      return false;
    }
  }

  async readPartialState(state: string): Promise<PartialState | undefined> {
    try {
      return JSON.parse(await readFile(state, 'utf8')) as PartialState;
    } catch {
      return undefined;
    }
  }

  async writePartialState(state: string, value: PartialState): Promise<void> {
    await mkdir(dirname(state), { recursive: true });
    await writeFile(state, JSON.stringify(value));
  }

  /** Makes a complete partial file visible under its own name, durably, and records it in the journal. */
  async commit(relative: string, committed: Committed): Promise<void> {
    const { final, partial, state } = this.partialOf(relative);
    await syncFile(partial);
    await rename(partial, final);
    await syncDir(dirname(final));
    await rm(state, { force: true });
    this.journal.set(relative, committed);
    await appendFile(join(this.root, journalName), `${JSON.stringify(committed)}\n`);
  }

  /** Ends a load: the manifest (written and renamed like a file), then the journal is no longer needed. */
  async finish(source: string, files: Committed[]): Promise<void> {
    const bytes = files.reduce((sum, f) => sum + f.bytes, 0);
    const manifest = {
      source,
      completedAt: new Date().toISOString(),
      bytes,
      files: files.length,
      entries: files.map((f) => ({ path: f.path, source: f.source, bytes: f.bytes, ...(f.etag ? { etag: f.etag } : {}) })),
    };
    const temp = join(this.root, `.${manifestName}.partial`);
    await writeFile(temp, `${JSON.stringify(manifest, null, 2)}\n`);
    await syncFile(temp);
    await rename(temp, join(this.root, manifestName));
    await rm(join(this.root, journalName), { force: true });
    await syncDir(this.root);
  }
}

export async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A rename is durable only once its directory is synced. */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
