// The audit log's rotation, as lumberjack (kube-apiserver's log backend) does it: past the size limit the file is
// renamed to NAME-<time>.EXT and a new one started, and only the newest --audit-log-maxbackup backups are kept.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AuditLogWriter } from '../../src/server/audit/log-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'audit-log-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('audit log writer', () => {
  it('rotates past --audit-log-maxsize, keeps --audit-log-maxbackup backups and loses no line', async () => {
    const failures: Error[] = [];
    const writer = new AuditLogWriter({ path: join(dir, 'audit.log'), maxAgeDays: 0, maxBackups: 2, maxSizeMB: 1, failed: (e) => failures.push(e) });
    await writer.open();
    const line = (i: number) => JSON.stringify({ i, pad: 'x'.repeat(100_000) });
    // 40 lines of about 100 kB: four files' worth at 1 MB each. The pauses give each backup its own millisecond.
    for (let i = 0; i < 40; i++) {
      writer.write(line(i));
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5));
    }
    await writer.close();
    assert.deepEqual(failures, []);
    const files = readdirSync(dir).sort();
    const backups = files.filter((f) => /^audit-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.log$/.test(f));
    assert.equal(backups.length, 2, files.join(', '));
    assert.equal(files.length, 3, files.join(', '));
    const lines = readFileSync(join(dir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { i: number }).i);
    assert.equal(lines.at(-1), 39);
    for (const name of files) assert.ok(readFileSync(join(dir, name)).length <= 1024 * 1024, `${name} is over 1 MB`);
  });
});
