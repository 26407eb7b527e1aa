// A job's rank pods with logs kwok serves: kwok serves each pod's container log from a file (its Logs objects; the
// nodes' kubelet endpoint is kwok's HTTPS server), so kube-apiserver's pods/log, and jobs/logs over it, read it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalCluster } from './cluster.js';

/** A container log line as the CRI writes it, which is what kwok (like the kubelet) reads. */
export const criLine = (text: string): string => `${new Date().toISOString().replace('Z', '000000Z')} stdout F ${text}\n`;

export interface RankPod {
  name: string;
  rank: string;
}

/** The job's first `count` pods once scheduled, with their ranks. */
export async function rankPods(cluster: LocalCluster, ns: string, job: string, count: number): Promise<RankPod[]> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const pods = JSON.parse(await cluster.ok('admin', ['get', 'pods', '-n', ns, '-l', `ai.example.io/job=${job}`, '-o', 'json'])) as {
      items: { metadata: { name: string; annotations?: Record<string, string> }; spec?: { nodeName?: string } }[];
    };
    // kwok leaves these pods alone (so the job never finishes under the test); scheduled is enough for pods/log.
    const running = pods.items.filter((p) => p.spec?.nodeName);
    if (running.length >= count) {
      return running.map((p) => ({ name: p.metadata.name, rank: p.metadata.annotations!['batch.kubernetes.io/job-completion-index']! }));
    }
    if (Date.now() > deadline) throw new Error(`job ${job}: ${running.length} of ${count} pods scheduled`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Points kwok at one file per rank under `dir` for the pods' log (`<pod>.log`), and writes the first lines of each. */
export async function serveLogs(cluster: LocalCluster, ns: string, dir: string, pods: RankPod[], lines: (rank: string) => string[]): Promise<void> {
  for (const pod of pods) {
    const file = join(dir, `${pod.name}.log`);
    writeFileSync(file, lines(pod.rank).map(criLine).join(''));
    await cluster.ok('admin', ['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'kwok.x-k8s.io/v1alpha1',
      kind: 'Logs',
      metadata: { name: pod.name, namespace: ns },
      spec: { logs: [{ containers: ['trainer'], logsFile: file }] },
    }));
  }
  // kwok picks Logs objects up from a watch: wait until it serves each pod's log before asking for the job's.
  for (const pod of pods) {
    const deadline = Date.now() + 30_000;
    while ((await cluster.kubectl('admin', ['logs', pod.name, '-n', ns, '--tail=1'])).code !== 0) {
      if (Date.now() > deadline) throw new Error(`kwok never served the log of ${pod.name}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
