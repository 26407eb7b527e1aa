// README.md's benchmark summary, read from bench/RESULTS.md's table: the README quotes the ratios the results file
// prints, worded by the numbers (0.25 for a time is "4.0× faster", 1.48 is "1.48× slower"), never by hand.
// `npm run bench` writes it after each run; `node --import tsx bench/summary.ts [RESULTS.md] [README.md]` rewrites
// it from a results file alone.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compare, ratioText, replaceBlock } from './report.js';

export const summaryBlock = 'bench:summary';

type Path = 'aggregated' | 'direct';
type Kind = 'time' | 'memory' | 'rate';

export interface ResultRow {
  section: string;
  measure: string;
  kind: Kind;
  /** Rounds the figures are medians of; 1 for a single run; undefined in a file that did not record them. */
  rounds: number | undefined;
  ratios: Partial<Record<Path, number>>;
  /** direct ÷ CRD in the round where it was lowest and where it was highest. */
  roundRange: [number, number] | undefined;
  /** How many times better than the CRD the direct path must be (1 = match); undefined for a goal of another kind. */
  target: number | undefined;
  met: boolean | undefined;
}

const cells = (line: string): string[] => line.split('|').slice(1, -1).map((c) => c.trim());

/** The rows of a results file's table, by its column names. */
export function parseResults(markdown: string): ResultRow[] {
  const lines = markdown.split('\n');
  const headerAt = lines.findIndex((l) => l.startsWith('| section | measure |'));
  if (headerAt < 0) throw new Error('no results table (a line starting "| section | measure |")');
  const header = cells(lines[headerAt]!);
  const column = (row: string[], name: string): string | undefined => {
    const i = header.indexOf(name);
    return i < 0 ? undefined : row[i];
  };
  const number = (text: string | undefined): number | undefined => (text === undefined || !/^[\d.]+$/.test(text) ? undefined : Number(text));
  const rows: ResultRow[] = [];
  for (const line of lines.slice(headerAt + 2)) {
    if (!line.startsWith('|')) break;
    const row = cells(line);
    // Any path's figure tells the unit: the CRD's cell may say that it failed.
    const figures = ['CRD (kube-apiserver)', 'this server via aggregator', 'this server direct'].map((name) => column(row, name) ?? '');
    const kind: Kind = figures.some((f) => f.endsWith('/s') || f.endsWith('× etcd')) ? 'rate' : figures.some((f) => f.endsWith('MiB')) ? 'memory' : 'time';
    // Files before the goal column was named "goal (direct)" call it "direct target".
    const goal = column(row, 'goal (direct)') ?? column(row, 'direct target') ?? '';
    const range = /^([\d.]+)–([\d.]+)$/.exec(column(row, 'direct ÷ CRD, lowest–highest round') ?? '');
    const rounds = column(row, 'rounds');
    const met = column(row, 'met');
    rows.push({
      section: column(row, 'section')!,
      measure: column(row, 'measure')!,
      kind,
      rounds: rounds === undefined ? undefined : Number.parseInt(rounds, 10),
      ratios: { aggregated: number(column(row, 'aggregated ÷ CRD')), direct: number(column(row, 'direct ÷ CRD')) },
      roundRange: range ? [Number(range[1]), Number(range[2])] : undefined,
      target: goal.startsWith('at least match') ? 1 : /^\d+× better/.test(goal) ? Number.parseInt(goal, 10) : undefined,
      met: met === 'yes' ? true : met === 'no' ? false : undefined,
    });
  }
  return rows;
}

const better = (row: ResultRow, ratio: number): number => (row.kind === 'rate' ? ratio : 1 / ratio);
const label = (row: ResultRow): string => `${row.section}: ${row.measure}`;

/** One path over a group of rows: the range on each side of the CRD, naming the rows on the side with fewer. */
function rangeOver(rows: ResultRow[], path: Path): string | undefined {
  const withRatio = rows.filter((r) => r.ratios[path] !== undefined);
  if (withRatio.length === 0) return undefined;
  const kind = withRatio[0]!.kind;
  const unique = new Set(withRatio.map((r) => r.measure)).size === withRatio.length;
  const name = (r: ResultRow): string => (unique ? r.measure : label(r));
  const ratiosOf = (xs: ResultRow[]): number[] => xs.map((r) => r.ratios[path]!);
  const span = (xs: number[]): string => {
    const [lo, hi] = [ratioText(Math.min(...xs)), ratioText(Math.max(...xs))];
    return lo === hi ? lo : `${lo}–${hi}`;
  };
  if (kind === 'rate') {
    const below = withRatio.filter((r) => r.ratios[path]! < 1);
    const some = below.length > 0 && below.length < withRatio.length ? `; below it: ${below.map(name).join('; ')}` : '';
    return `${compare(ratiosOf(withRatio), kind)}${some}`;
  }
  const sides = [withRatio.filter((r) => r.ratios[path]! <= 1), withRatio.filter((r) => r.ratios[path]! > 1)].filter((xs) => xs.length > 0);
  if (sides.length === 1) return `${compare(ratiosOf(withRatio), kind)} (${span(ratiosOf(withRatio))})`;
  const fewer = sides[0]!.length <= sides[1]!.length ? 0 : 1;
  return sides
    .map((xs, i) => `${compare(ratiosOf(xs), kind)} (${span(ratiosOf(xs))}) in ${i === fewer ? xs.map(name).join('; ') : `${xs.length} rows`}`)
    .join(', and ');
}

/** One path, row by row. */
function eachOf(rows: ResultRow[], path: Path): string | undefined {
  const withRatio = rows.filter((r) => r.ratios[path] !== undefined);
  if (withRatio.length === 0) return undefined;
  return withRatio.map((r) => `${r.measure} ${compare([r.ratios[path]!], r.kind)} (${ratioText(r.ratios[path]!)})`).join(', ');
}

function groupLines(title: string, rows: ResultRow[], describe: (rows: ResultRow[], path: Path) => string | undefined): string[] {
  if (rows.length === 0) return [];
  const single = rows.every((r) => r.rounds === 1) ? ' (a single run)' : '';
  const paths = (['direct', 'aggregated'] as const).flatMap((path) => {
    const text = describe(rows, path);
    return text === undefined ? [] : [`  - ${path === 'direct' ? 'direct' : 'through the aggregator'}: ${text}`];
  });
  return paths.length === 0 ? [] : [`- **${title}**${single}`, ...paths];
}

/** The summary lines: what README.md's benchmark paragraph says, and what bench/RESULTS.md opens its notes with. */
export function summaryLines(markdown: string, fromReadme = true): string[] {
  const rows = parseResults(markdown);
  const when = /(\d{4}-\d\d-\d\d \d\d:\d\d) UTC/.exec(markdown)?.[1] ?? 'an unrecorded date';
  const minutes = /in ([\d.]+) minutes/.exec(markdown)?.[1];
  const counts = new Map<number, number>();
  for (const r of rows) if (r.rounds !== undefined && r.rounds > 1) counts.set(r.rounds, (counts.get(r.rounds) ?? 0) + 1);
  const usual = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const singles = rows.filter((r) => r.rounds === 1);
  const rounds =
    usual === undefined
      ? 'the file does not record how many rounds each row is a median of'
      : `medians of ${usual} rounds${singles.length > 0 ? `, except ${singles.map(label).join('; ')}: a single run` : ''}`;
  const lists = rows.filter((r) => r.section.startsWith('LIST'));
  const lines = [
    `From the run of ${when} UTC${minutes ? ` (${minutes} minutes)` : ''}${fromReadme ? ' in [`bench/RESULTS.md`](bench/RESULTS.md)' : ''}; ` +
      `each ratio is this server ÷ CRD, ${rounds}.`,
    '',
    ...groupLines(`LIST (${lists.length} rows: ${[...new Set(lists.map((r) => r.section.replace('LIST of ', '')))].join(' and ')} notebooks)`, lists, rangeOver),
    ...groupLines('Memory', rows.filter((r) => r.section === 'memory'), eachOf),
    ...groupLines('Writes', rows.filter((r) => r.section === 'writes'), rangeOver),
    ...groupLines('GET, one at a time', rows.filter((r) => /^(reads|GET)/.test(r.section)), eachOf),
    ...groupLines('Watch delay', rows.filter((r) => r.section.startsWith('watch')), eachOf),
    ...groupLines(`${rows.find((r) => /^[\d,]+ notebooks$/.test(r.section))?.section ?? 'Big population'}`, rows.filter((r) => /^[\d,]+ notebooks$/.test(r.section)), eachOf),
  ];

  const judged = rows.filter((r) => r.met !== undefined);
  const missed = judged.filter((r) => r.met === false);
  lines.push(
    `- **Targets** (the direct path against the issue's): ${judged.length - missed.length} of ${judged.length} met` +
      (missed.length > 0 ? `; missed: ${missed.map(label).join('; ')}.` : '.'),
  );
  const split = rows.filter((r) => {
    if (r.roundRange === undefined || r.target === undefined) return false;
    const [a, b] = r.roundRange.map((x) => better(r, x));
    return Math.min(a!, b!) < r.target && Math.max(a!, b!) >= r.target;
  });
  if (split.length > 0) {
    lines.push(`- **Rounds that disagree**: direct ÷ CRD falls on both sides of the target from round to round in ${split.map(label).join('; ')}.`);
  }
  const slos = markdown.split('\n').filter((l) => /^- (met|\*\*missed\*\*): /.test(l));
  const slosMissed = slos.filter((l) => l.startsWith('- **missed**'));
  if (slos.length > 0) {
    lines.push(
      `- **Kubernetes SLOs through the aggregator**: ${slos.length - slosMissed.length} of ${slos.length} met` +
        (slosMissed.length > 0 ? `; missed: ${slosMissed.map((l) => l.replace('- **missed**: ', '')).join('; ')}.` : '.'),
    );
  }
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = process.argv[2] ?? fileURLToPath(new URL('./RESULTS.md', import.meta.url));
  const readme = process.argv[3] ?? fileURLToPath(new URL('../README.md', import.meta.url));
  replaceBlock(readme, summaryBlock, summaryLines(readFileSync(results, 'utf8')));
}
