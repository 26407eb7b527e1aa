// Paginated LISTs through kube-apiserver, each sent to this server's notebooks (pages read from its watch cache's
// snapshots) and to a CRD generated from the same schema (group golden.example.io) holding notebooks of the same
// names written in the same order: which items, whether a continue token and remainingItemCount come back, and whether
// the list is at the resourceVersion asked for must be the same, for consistent, NotOlderThan, Exact, legacy exact
// (limit with a resourceVersion) and "0" reads, and for continued pages with writes and deletes between them.
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { testBed } from '../support/test-bed.js';

const ours = 'ai.example.io';
const golden = 'golden.example.io';
const ns = 'list-pages';
let cluster: LocalCluster;

const bed = testBed({ name: 'list-pages', serverArgs: ['--no-controllers'], namespaces: [ns], crdGroup: golden });
beforeEach(async () => void (cluster = await bed.ready()));
after(() => bed.stop());

interface ListPage {
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: { metadata: { name: string } }[];
}

/** What the two servers must agree on: their resourceVersions differ (two etcds), so only how a list's relates. */
interface Shape {
  names: string[];
  continues: boolean;
  remainingItemCount?: number;
  atResourceVersionAsked: boolean;
}

const collection = (group: string): string => `/apis/${group}/v1alpha1/namespaces/${ns}/notebooks`;
const notebook = (group: string, name: string): string =>
  JSON.stringify({ apiVersion: `${group}/v1alpha1`, kind: 'Notebook', metadata: { name }, spec: { template: { spec: { containers: [{ name: 'main', image: 'jupyter:1' }] } } } });

async function list(group: string, query: string): Promise<ListPage> {
  const res = await cluster.request('admin', 'GET', `${collection(group)}?${query}`);
  assert.equal(res.status, 200, `${group} ?${query}: ${res.body}`);
  return JSON.parse(res.body) as ListPage;
}

async function create(group: string, name: string): Promise<void> {
  const res = await cluster.request('admin', 'POST', collection(group), notebook(group, name), { 'content-type': 'application/json' });
  assert.equal(res.status, 201, `create ${name} in ${group}: ${res.body}`);
}

async function remove(group: string, name: string): Promise<void> {
  const res = await cluster.request('admin', 'DELETE', `${collection(group)}/${name}`);
  assert.equal(res.status, 200, `delete ${name} in ${group}: ${res.body}`);
}

const shape = (page: ListPage, asked: string): Shape => ({
  names: page.items.map((item) => item.metadata.name),
  continues: Boolean(page.metadata.continue),
  remainingItemCount: page.metadata.remainingItemCount,
  atResourceVersionAsked: page.metadata.resourceVersion === asked,
});

describe('paginated LISTs: the same pages as kube-apiserver gives a CRD', () => {
  /** Each group's resourceVersion once p-0..p-2 existed; p-3 and p-4 were created after it. */
  const then: Record<string, string> = {};

  beforeEach(async () => {
    if (then[ours]) return;
    for (const group of [golden, ours]) {
      for (const name of ['p-0', 'p-1', 'p-2']) await create(group, name);
      then[group] = (await list(group, '')).metadata.resourceVersion;
      for (const name of ['p-3', 'p-4']) await create(group, name);
    }
  });

  const cases: { name: string; query: (rv: string) => string }[] = [
    { name: 'a consistent LIST with a limit', query: () => 'limit=2' },
    { name: 'a limit with a resourceVersion and no match (the legacy exact match)', query: (rv) => `resourceVersion=${rv}&limit=2` },
    { name: 'NotOlderThan a resourceVersion, with a limit', query: (rv) => `resourceVersion=${rv}&resourceVersionMatch=NotOlderThan&limit=2` },
    { name: 'Exact at a resourceVersion, with a limit', query: (rv) => `resourceVersion=${rv}&resourceVersionMatch=Exact&limit=2` },
    { name: 'resourceVersion 0 with a limit', query: () => 'resourceVersion=0&limit=2' },
    { name: 'a limit larger than the list', query: () => 'limit=50' },
  ];
  for (const c of cases) {
    it(`${c.name}: the same first page, and the same pages after it`, async () => {
      const shapes: Shape[][] = [];
      for (const group of [golden, ours]) {
        const pages: Shape[] = [];
        let page = await list(group, c.query(then[group]!));
        pages.push(shape(page, then[group]!));
        const first = page.metadata.resourceVersion;
        while (page.metadata.continue) {
          assert.ok(pages.length < 10, `${group}: still continuing after ${pages.length} pages`);
          page = await list(group, `limit=2&continue=${encodeURIComponent(page.metadata.continue)}`);
          pages.push(shape(page, first));
        }
        shapes.push(pages);
      }
      assert.deepEqual(shapes[1], shapes[0]);
    });
  }

  it('continued pages show the snapshot of the first, with creates, updates and deletes between pages', async () => {
    const shapes: Shape[][] = [];
    for (const group of [golden, ours]) {
      const pages: Shape[] = [];
      let page = await list(group, 'limit=2');
      const first = page.metadata.resourceVersion;
      pages.push(shape(page, first));
      for (let round = 0; page.metadata.continue; round++) {
        assert.ok(round < 10, `${group}: still continuing after ${round} rounds`);
        await create(group, `q-${round}`);
        await remove(group, round === 0 ? 'p-3' : `q-${round - 1}`);
        page = await list(group, `limit=2&continue=${encodeURIComponent(page.metadata.continue)}`);
        pages.push(shape(page, first));
      }
      shapes.push(pages);
    }
    assert.deepEqual(shapes[1], shapes[0]);
    assert.deepEqual(shapes[0]!.flatMap((s) => s.names), ['p-0', 'p-1', 'p-2', 'p-3', 'p-4']);
  });
});
