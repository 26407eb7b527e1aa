// A job's merged logs (jobs/logs, every rank's lines prefixed with its rank), followed while the panel is open.
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorOf, lines, objectPath } from './api.js';

/** Lines kept: a job that logs for days must not fill the page's memory. */
const keep = 2000;
const maxLine = 16_384;

export function Logs({ namespace, job }: { namespace: string; job: string }) {
  const [text, setText] = useState<string[]>([]);
  const [state, setState] = useState('connecting');
  const [error, setError] = useState<string | undefined>();
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const abort = new AbortController();
    setText([]);
    setError(undefined);
    void (async () => {
      try {
        const res = await fetch(`${objectPath(namespace, 'jobs', job)}/logs?follow=true&tailLines=200`, { signal: abort.signal });
        if (!res.ok || !res.body) throw await errorOf(res);
        setState('following');
        for await (const batch of lines(res.body, maxLine)) setText((old) => [...old, ...batch].slice(-keep));
        setState('ended');
      } catch (error) {
        if (abort.signal.aborted) return;
        setState('stopped');
        setError(error instanceof Error ? error.message : String(error));
      }
    })();
    return () => abort.abort();
  }, [namespace, job]);
  useEffect(() => {
    const el = pre.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [text]);
  return (
    <section class="logs" aria-label={`logs of ${job}`}>
      <h4>
        Logs <span class="muted">({state})</span>
      </h4>
      {error !== undefined && <p class="error">{error}</p>}
      {/* A text child: Preact sets it as a text node, so a log line is never markup. */}
      {(text.length > 0 || !error) && <pre ref={pre}>{text.join("\n")}</pre>}
    </section>
  );
}
