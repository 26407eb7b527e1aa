// The dashboard: one namespace's notebooks, jobs and datasets, kept live by watches through the local proxy of
// `kubectl ai dashboard`. Everything from the API is rendered as text by Preact (never as markup), since names,
// messages and logs are whatever their writers put there.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Dataset, Job, Notebook } from '../api/v1alpha1/types.js';
import { getJson, objectPath } from './api.js';
import { ProgressChart } from './chart.js';
import { bytes, duration, idle, idleText, progressFraction, queueState, recordSample, remainingSeconds, replicas, replicasText, type Sample } from './format.js';
import { useCollection, useNow } from './hooks.js';
import { Logs } from './logs.js';
import type { CollectionState } from './watch.js';

const byName = <T,>(state: CollectionState<T>): [string, T][] => [...state.items].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function Phase({ phase }: { phase: string | undefined }) {
  return <span class={`phase phase-${(phase ?? 'unknown').toLowerCase().replace(/[^a-z]/g, '')}`}>{phase ?? 'Unknown'}</span>;
}

function Status<T>({ state, what }: { state: CollectionState<T>; what: string }) {
  if (state.error) return <p class="error" role="alert">{state.error}</p>;
  if (!state.synced) return <p class="muted">Loading {what}…</p>;
  if (state.items.size === 0) return <p class="muted">No {what} in this namespace.</p>;
  return null;
}

/**
 * Where notebooks open: the port `kubectl ai dashboard` gives in `notebooks`, its second local proxy, whose origin
 * forwards notebooks/proxy paths only (a notebook's pages must not run on this page's origin, which forwards the whole
 * API). Only a port is taken, and only on 127.0.0.1, so a crafted link cannot send the Open buttons elsewhere. Without
 * one (the page served by `kubectl proxy --www`, say) notebooks open on this origin, as kubectl proxy's users know.
 */
function notebookOrigin(): string {
  const port = new URLSearchParams(location.search).get('notebooks') ?? '';
  return /^\d{1,5}$/.test(port) && Number(port) > 0 && Number(port) <= 65535 ? `http://127.0.0.1:${Number(port)}` : '';
}

function Notebooks({ namespace, now }: { namespace: string; now: number }) {
  const state = useCollection<Notebook>(namespace, 'notebooks');
  const origin = notebookOrigin();
  return (
    <section aria-labelledby="notebooks">
      <h2 id="notebooks">Notebooks</h2>
      <Status state={state} what="notebooks" />
      {state.items.size > 0 && (
        <table>
          <thead>
            <tr><th>Name</th><th>Phase</th><th>Ready</th><th>Idle</th><th /></tr>
          </thead>
          <tbody>
            {byName(state).map(([name, nb]) => {
              const running = nb.status?.phase === 'Running';
              return (
                <tr key={name}>
                  <td class="name">{name}</td>
                  <td><Phase phase={nb.status?.phase} /></td>
                  <td>{nb.status?.readyReplicas ?? 0}</td>
                  <td>{idleText(idle(nb, now))}</td>
                  <td>
                    {running ? (
                      // notebooks/proxy, served by the same proxy: Jupyter runs with NB_PREFIX set to this path.
                      <a class="button" href={`${origin}${objectPath(namespace, 'notebooks', name)}/proxy/`} target="_blank" rel="noopener noreferrer">
                        Open
                      </a>
                    ) : (
                      <span class="button disabled" aria-disabled="true" title="the notebook is not running">Open</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ReplicaBar({ job }: { job: Job }) {
  const r = replicas(job);
  if (r.min === undefined || r.max === undefined) return <span>{replicasText(r)}</span>;
  const span = Math.max(1, r.max);
  return (
    <span class="replicas" title={`${r.active} running; elastic between ${r.min} and ${r.max}`}>
      {replicasText(r)}
      <span class="range" aria-hidden="true">
        <span class="range-allowed" style={{ left: `${(r.min / span) * 100}%`, width: `${((r.max - r.min) / span) * 100}%` }} />
        <span class="range-current" style={{ width: `${(Math.min(r.current, r.max) / span) * 100}%` }} />
      </span>
    </span>
  );
}

function Progress({ job, now }: { job: Job; now: number }) {
  const progress = job.status?.progress;
  const fraction = progressFraction(progress);
  if (!progress) return <span class="muted">—</span>;
  const left = remainingSeconds(progress, now);
  const steps = progress.totalSteps ? `${progress.step ?? 0}/${progress.totalSteps}` : progress.step !== undefined ? `step ${progress.step}` : '';
  return (
    <span class="progress">
      {fraction !== undefined && <progress value={fraction} max={1} />}
      {steps}
      {left !== undefined && <span class="muted"> · ETA {duration(left)}</span>}
    </span>
  );
}

function Jobs({ namespace, now }: { namespace: string; now: number }) {
  const state = useCollection<Job>(namespace, 'jobs');
  const [open, setOpen] = useState<string | undefined>();
  // Each job's reports as the watch delivered them, by uid: a job deleted and made again starts a new chart.
  const history = useRef(new Map<string, Sample[]>());
  useEffect(() => history.current.clear(), [namespace]);
  for (const job of state.items.values()) {
    const uid = job.metadata?.uid;
    if (uid) history.current.set(uid, recordSample(history.current.get(uid) ?? [], job.status?.progress));
  }
  return (
    <section aria-labelledby="jobs">
      <h2 id="jobs">Jobs</h2>
      <Status state={state} what="jobs" />
      {state.items.size > 0 && (
        <table>
          <thead>
            <tr><th>Name</th><th>Phase</th><th>Replicas</th><th>Queue</th><th>Progress</th><th /></tr>
          </thead>
          {byName(state).map(([name, job]) => {
            const queue = queueState(job);
            const expanded = open === name;
            return (
              <tbody key={name}>
                <tr>
                  <td class="name">{name}</td>
                  <td><Phase phase={job.status?.phase} /></td>
                  <td><ReplicaBar job={job} /></td>
                  <td class="queue" title={queue.detail}>
                    <span class={`queue-${queue.state.toLowerCase()}`}>{queue.state}</span>
                    {queue.queue !== undefined && <span class="muted"> in {queue.queue}</span>}
                    {queue.detail && <div class="detail">{queue.detail}</div>}
                  </td>
                  <td><Progress job={job} now={now} /></td>
                  <td>
                    <button type="button" aria-expanded={expanded} onClick={() => setOpen(expanded ? undefined : name)}>
                      {expanded ? 'Hide' : 'Details'}
                    </button>
                  </td>
                </tr>
                {expanded && (
                  <tr class="details">
                    <td colSpan={6}>
                      <ProgressChart samples={history.current.get(job.metadata?.uid ?? '') ?? []} />
                      <Logs namespace={namespace} job={name} />
                    </td>
                  </tr>
                )}
              </tbody>
            );
          })}
        </table>
      )}
    </section>
  );
}

function Datasets({ namespace }: { namespace: string }) {
  const state = useCollection<Dataset>(namespace, 'datasets');
  return (
    <section aria-labelledby="datasets">
      <h2 id="datasets">Datasets</h2>
      <Status state={state} what="datasets" />
      {state.items.size > 0 && (
        <table>
          <thead>
            <tr><th>Name</th><th>Phase</th><th>Size</th><th>Files</th><th>Source</th></tr>
          </thead>
          <tbody>
            {byName(state).map(([name, ds]) => (
              <tr key={name}>
                <td class="name">{name}</td>
                <td><Phase phase={ds.status?.phase} /></td>
                <td>{bytes(ds.status?.bytes)}</td>
                <td>{ds.status?.files ?? '—'}</td>
                <td class="muted">{ds.spec?.source?.uri}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The namespaces the user may list, to pick from; a user who may not list them types one. */
function useNamespaces(): string[] {
  const [names, setNames] = useState<string[]>([]);
  useEffect(() => {
    getJson<{ items?: { metadata?: { name?: string } }[] }>('/api/v1/namespaces')
      .then((list) => setNames((list.items ?? []).flatMap((n) => (n.metadata?.name ? [n.metadata.name] : [])).sort()))
      .catch(() => setNames([]));
  }, []);
  return names;
}

const initialNamespace = (): string => new URLSearchParams(location.search).get('namespace') || 'default';

function App() {
  const [namespace, setNamespace] = useState(initialNamespace);
  const [draft, setDraft] = useState(namespace);
  const namespaces = useNamespaces();
  const now = useNow(5000);
  const choose = (ns: string): void => {
    const name = ns.trim();
    if (!name || name === namespace) return;
    setNamespace(name);
    const url = new URL(location.href);
    url.searchParams.set('namespace', name);
    history.replaceState(null, '', url);
  };
  return (
    <>
      <header>
        <h1>ai.example.io</h1>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            choose(draft);
          }}
        >
          <label>
            Namespace{' '}
            <input
              name="namespace"
              list="namespaces"
              value={draft}
              onInput={(e) => setDraft(e.currentTarget.value)}
              onChange={(e) => choose(e.currentTarget.value)}
              autocomplete="off"
              spellcheck={false}
            />
          </label>
          <datalist id="namespaces">
            {namespaces.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </form>
      </header>
      <main>
        <Notebooks namespace={namespace} now={now} />
        <Jobs namespace={namespace} now={now} />
        <Datasets namespace={namespace} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
