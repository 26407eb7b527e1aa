// pvc://claim/path sources: a file or folder of another claim, which the prefetch pod mounts read-only at
// loaderMounts.source. A folder is copied with its tree; symbolic links are skipped (they may point anywhere on the
// node). Each file goes through the same resumable, size-checked, atomic path as a download.
import { createReadStream } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Logger } from 'pino';
import type { Open } from './download.js';
import { LoadError } from './errors.js';

export interface PvcFile {
  /** The file's path inside the dataset. */
  path: string;
  absolute: string;
  size: number;
  /** Size and modification time: a partial copy resumes only from the same file. */
  version: string;
}

/** The claim a pvc:// URI names and the path inside it ('' for the whole claim). */
export function parsePvcUri(uri: string): { claim: string; path: string } {
  const match = /^pvc:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw new LoadError(`${uri}: not a pvc://claim/path URI`, true);
  return { claim: match[1]!, path: match[2]!.replace(/\/+$/, '') };
}

export async function pvcFiles(uri: string, sourceRoot: string, log: Logger): Promise<PvcFile[]> {
  const { claim, path } = parsePvcUri(uri);
  const segments = path === '' ? [] : path.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) throw new LoadError(`${uri}: the path must stay inside claim ${claim}`, true);
  const top = join(sourceRoot, ...segments);
  let info;
  try {
    info = await stat(top);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new LoadError(`${uri}: no file or folder ${path || '/'} in claim ${claim}`, true);
    throw error;
  }
  const files: PvcFile[] = [];
  const add = (relative: string, absolute: string, size: number, mtimeMs: number): void => {
    files.push({ path: relative, absolute, size, version: `${size}-${mtimeMs}` });
  };
  if (info.isFile()) {
    add(segments.at(-1)!, top, info.size, info.mtimeMs);
  } else {
    const walk = async (dir: string, relative: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const absolute = join(dir, entry.name);
        const path = relative ? posix.join(relative, entry.name) : entry.name;
        if (entry.isDirectory()) await walk(absolute, path);
        else if (entry.isFile()) {
          const file = await lstat(absolute);
          add(path, absolute, file.size, file.mtimeMs);
        } else log.warn({ path }, 'skipping what is not a regular file or folder');
      }
    };
    await walk(top, '');
  }
  if (files.length === 0) throw new LoadError(`${uri}: no files under ${path || '/'} in claim ${claim}`, true);
  return files;
}

export function openPvcFile(file: PvcFile): Open {
  return async (offset, validator) => {
    const start = validator === file.version ? offset : 0;
    return { start, total: file.size, validator: file.version, etag: file.version, body: createReadStream(file.absolute, { start }) };
  };
}
