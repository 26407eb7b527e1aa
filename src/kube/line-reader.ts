// The lines of a stream of text (a watch's JSON events), however its chunks fall: each character is looked at once,
// where searching the buffered text again on every chunk costs the square of one long line (a tenant's megabyte
// ConfigMap arriving in 16 KiB chunks).
export class LineReader {
  private rest = '';

  /** The lines `chunk` completes, without their newlines; what follows the last newline waits for the next chunk. */
  push(chunk: string): string[] {
    if (!chunk.includes('\n')) {
      this.rest += chunk;
      return [];
    }
    const lines = chunk.split('\n');
    lines[0] = this.rest + lines[0]!;
    this.rest = lines.pop()!;
    return lines;
  }
}
