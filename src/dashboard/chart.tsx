// The progress chart: what status.progress said at each report the watch delivered while the page was open: each
// metric against the step when every report has one, else the step and the metrics against time; each line scaled
// to its own range.
import type { Sample } from './format.js';

const width = 360;
const height = 140;
const pad = 8;
const colors = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

interface Series {
  name: string;
  points: [number, number][];
}

function seriesOf(samples: Sample[]): { series: Series[]; against: string } {
  const names = [...new Set(samples.flatMap((s) => Object.keys(s.metrics)))].sort().slice(0, colors.length - 1);
  const byStep = names.length > 0 && samples.every((s) => s.step !== undefined);
  const x = (s: Sample): number => (byStep ? s.step! : s.time);
  const series: Series[] = byStep ? [] : [{ name: 'step', points: samples.flatMap((s): [number, number][] => (s.step === undefined ? [] : [[s.time, s.step]])) }];
  for (const name of names) series.push({ name, points: samples.flatMap((s): [number, number][] => (Number.isFinite(s.metrics[name]) ? [[x(s), s.metrics[name]!]] : [])) });
  return { series: series.filter((s) => s.points.length > 0), against: byStep ? 'step' : 'time' };
}

function path(points: [number, number][]): string {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (x: number): number => pad + (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (width - 2 * pad);
  const sy = (y: number): number => height - pad - (y1 === y0 ? 0.5 : (y - y0) / (y1 - y0)) * (height - 2 * pad);
  return points.map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
}

const latest = (n: number): string => String(Number(n.toPrecision(4)));

export function ProgressChart({ samples }: { samples: Sample[] }) {
  const { series, against } = seriesOf(samples);
  if (series.length === 0) return <p class="muted">No progress reported yet.</p>;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`progress chart against ${against}`}>
        <rect x="0" y="0" width={width} height={height} class="chart-frame" />
        {series.map((s, i) =>
          s.points.length === 1 ? (
            <circle key={s.name} cx={width / 2} cy={height / 2} r="3" fill={colors[i % colors.length]} />
          ) : (
            <path key={s.name} d={path(s.points)} fill="none" stroke={colors[i % colors.length]} stroke-width="2" />
          ),
        )}
      </svg>
      <figcaption>
        {series.map((s, i) => (
          <span key={s.name} class="legend">
            <span class="swatch" style={{ background: colors[i % colors.length] }} />
            {s.name} {latest(s.points.at(-1)![1])}
          </span>
        ))}
        <span class="muted">
          {' '}
          · against {against} · {samples.length} report{samples.length === 1 ? '' : 's'} seen
        </span>
      </figcaption>
    </figure>
  );
}
