// A bounded schemathesis run (from PyPI, scripts/install-schemathesis.sh) against the OpenAPI v3 document the
// server publishes: generated and mutated requests for every operation, stateful sequences that follow links from
// each create to the reads and writes of what it created, and seeded objects so generated requests reach
// objects that exist. No answer may be a server error and every documented answer must match its schema; the
// server's own log must show no failed request.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, beforeEach, describe, it } from 'node:test';
import { lazyServer, type ServerProcess } from '../support/server.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const ns = 'fuzz';
const seeded: Record<string, { name: string; body: unknown }> = {
  notebooks: { name: 'seed-nb', body: { metadata: { name: 'seed-nb', labels: { app: 'seed' } }, spec: { template: { spec: { containers: [{ name: 'main', image: 'jupyter:1' }] } } } } },
  jobs: { name: 'seed-job', body: { metadata: { name: 'seed-job' }, spec: { elastic: { minReplicas: 1, maxReplicas: 2 }, template: { spec: { containers: [{ name: 'main', image: 'trainer:1' }] } } } } },
  datasets: { name: 'seed-ds', body: { metadata: { name: 'seed-ds' }, spec: { source: { uri: 's3://bucket/data' } } } },
};
/**
 * Seconds the fuzzer may spend in all (FUZZ_SECONDS, 60 by default): CI time is bounded, and a longer search is one
 * variable away. A run is repeatable from its seed (FUZZ_SEED), which the test prints with the budget.
 */
const budgetSeconds = Number(process.env.FUZZ_SECONDS ?? 60);
const seed = process.env.FUZZ_SEED ?? String(randomInt(2 ** 31));

let server: ServerProcess;
const lazy = lazyServer({ backend: 'sqlite' });
beforeEach(async () => void (server = await lazy.ready()));
after(() => lazy.stop());

function schemathesis(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [join(repo, 'scripts/install-schemathesis.sh')], { timeout: 600_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`installing schemathesis failed: ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

type Operation = { operationId: string; parameters?: Array<{ name: string; in: string }>; responses: Record<string, Record<string, unknown>> };
type Document = { paths: Record<string, Record<string, Operation | unknown>> };

/**
 * The published document, made into a fuzzing plan: proxy operations dropped (they forward to a notebook that
 * does not exist here), `watch` dropped (a stream that lasts up to an hour is not a request/response pair the
 * fuzzer can judge), the namespace fixed and names drawn from the seeded objects or anything the schema allows,
 * and links from each create to the operations on the created object.
 */
function fuzzingPlan(document: Document): Document {
  const operations = (item: Record<string, unknown>): Operation[] =>
    Object.entries(item).filter(([method]) => method !== 'parameters').map(([, op]) => op as Operation);
  for (const path of Object.keys(document.paths)) {
    if (path.includes('/proxy')) delete document.paths[path];
  }
  for (const [path, item] of Object.entries(document.paths)) {
    const lists = [item.parameters as Operation['parameters'], ...operations(item).map((op) => op.parameters)];
    for (const params of lists) {
      if (!params) continue;
      for (let i = params.length - 1; i >= 0; i--) {
        const param = params[i] as { name: string; in: string; schema?: unknown };
        if (param.in === 'query' && param.name === 'watch') params.splice(i, 1);
        if (param.in === 'path' && param.name === 'namespace') param.schema = { type: 'string', enum: [ns] };
        if (param.in === 'path' && param.name === 'name') {
          const resource = path.split('/')[6] ?? '';
          param.schema = { anyOf: [{ type: 'string', enum: [seeded[resource]?.name ?? 'absent'] }, { type: 'string' }] };
        }
      }
    }
  }
  for (const resource of Object.keys(seeded)) {
    const base = `/apis/ai.example.io/v1alpha1/namespaces/{namespace}/${resource}`;
    const create = document.paths[base]?.post as Operation | undefined;
    assert.ok(create, `the document has no create operation for ${resource}`);
    const links: Record<string, unknown> = {};
    for (const [path, item] of Object.entries(document.paths)) {
      if (!path.startsWith(`${base}/{name}`)) continue;
      for (const op of operations(item)) {
        links[op.operationId] = { operationId: op.operationId, parameters: { namespace: '$request.path.namespace', name: '$response.body#/metadata/name' } };
      }
    }
    for (const code of ['200', '201']) {
      if (create.responses[code]) create.responses[code].links = links;
    }
  }
  return document;
}

describe('fuzzing the published API', () => {
  it('generated requests, stateful sequences included, never get a server error or an answer off its schema', { timeout: (budgetSeconds + 600) * 1000 }, async () => {
    assert.ok(Number.isInteger(budgetSeconds) && budgetSeconds > 0, `FUZZ_SECONDS must be a positive number of seconds, not ${process.env.FUZZ_SECONDS}`);
    process.stderr.write(`# schemathesis: FUZZ_SECONDS=${budgetSeconds} FUZZ_SEED=${seed}\n`);
    const st = await schemathesis();
    for (const [resource, { body }] of Object.entries(seeded)) {
      const res = await server.http('POST', `/apis/ai.example.io/v1alpha1/namespaces/${ns}/${resource}`, {
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 201, `seeding ${resource}: ${res.body}`);
    }
    const published = await server.http('GET', '/openapi/v3/apis/ai.example.io/v1alpha1');
    assert.equal(published.status, 200);
    const plan = join(server.home, 'fuzzing-plan.json');
    writeFileSync(plan, JSON.stringify(fuzzingPlan(JSON.parse(published.body) as Document)));

    const args = [
      'run', plan,
      '--url', server.url,
      '--tls-verify', 'false',
      '--header', `Authorization: Bearer ${server.token}`,
      '--checks', 'not_a_server_error,response_schema_conformance,content_type_conformance',
      '--phases', 'examples,fuzzing,stateful',
      '--max-time', String(budgetSeconds),
      '--workers', '2',
      '--request-timeout', '30',
      '--suppress-health-check', 'all',
      '--warnings', 'off',
      '--seed', seed,
    ];
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      let text = '';
      const child = spawn(st, args, { cwd: server.home, env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' } });
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      child.on('exit', (exitCode) => resolve({ code: exitCode, output: text }));
    });
    process.stderr.write(`# schemathesis: ${output.split('\n').filter((l) => /generated|Seed:|passed|failed|Fuzzing|Stateful/.test(l)).join(' | ')}\n`);
    assert.match(output, /test cases:?\s*\n?\s*\d+ generated/i, `schemathesis did not run:\n${output.slice(-4000)}`);
    assert.equal(code, 0, `schemathesis found failures (FUZZ_SEED=${seed} repeats the run):\n${output.slice(-8000)}`);
    const failed = server.logs().split('\n').filter((line) => line.includes('"request failed"'));
    assert.deepEqual(failed, [], 'the server logged failed requests while fuzzed');
  });
});
