// Label selectors differentially tested against k8s.io/apimachinery v0.32.2 itself: test/unit/label-oracle is a Go
// program around labels.Parse and Selector.Matches, built here. For every selector our parse error must be Go's
// word for word, or both must accept it and agree on every label map.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { parseLabelSelector, SelectorParseError } from '../../src/registry/label-selector.js';
import { buildGoOracle, type GoOracle } from '../support/go-oracle.js';


type Labels = Record<string, string>;
type Answer = { error: string } | { matches: boolean[] };

const long = (n: number, c = 'a'): string => c.repeat(n);

/** Chosen by hand: every operator, every error the parser can give, the lexer's corners. */
const handPicked: string[] = [
  '', ' ', '\t', '\n', '\r\n', '\v', '\f', '\u00a0', ',', ' , ',
  'a', ' a ', '\ta\t', '\na\r', 'a\vb', 'a\fb', 'a\u00a0b', 'a\u2028b',
  '!a', '! a', '!\ta', '!', '!!a', '! !a', '!a,b', 'a,!b', '!a=b', '!a in (b)', '!a,', '!,a',
  'a=b', 'a==b', 'a!=b', 'a = b', 'a\t==\tb', 'a\n!=\nb', 'a=', 'a==', 'a!=', 'a=,b', 'a==,b', 'a=b,', 'a=b,,c',
  'a=b=c', 'a==b==c', 'a===b', 'a!==b', 'a=!b', 'a=!', 'a!b', 'a!', 'a!!=b', 'a=(b)', 'a=(', 'a=)', 'a=,', 'a=b c',
  'a=in', 'a=notin', 'a==in', 'a!=notin', 'in', 'notin', 'in=in', 'notin=notin', 'in in (in)', 'notin notin (notin)',
  'a in (in, notin)', 'a in in', 'a in notin', 'a notin in', '!in', '!notin', 'in,notin', 'a,in', 'a in',
  'a in (b)', 'a in (b,c)', 'a in (b, c)', 'a in ( b , c )', 'a in(b)', 'a in(b,c),d', 'ain (b)', 'a in (c,b,a)',
  'a in (b,b)', 'a in (b,,c)', 'a in (b,c,)', 'a in (,b)', 'a in (,)', 'a in (,,)', 'a in (,,,)', 'a in ()',
  'a in ( )', 'a notin ()', 'a notin (,)', 'a in (b', 'a in (', 'a in', 'a in b', 'a in (b c)', 'a in (b))',
  'a in ((b))', 'a in (b)(c)', 'a in (b),', 'a in (b),c', 'a in (b);c', 'a in (=)', 'a in (b,=)', 'a in (!)',
  'a in (b,!)', 'a in (,=)', 'a in (b,', 'a in (,', 'a in (b,,', 'a notin (b)', 'a notin (b,c)', 'a notin (b',
  'a notin', 'a notin b', 'a in (-b)', 'a in (-b,-c)', 'a in (zz,-b)', 'a in (b-, -c, ok)', 'a in (b,c d)',
  'a>5', 'a<5', 'a > 5', 'a < 5', 'a>-5', 'a<-5', 'a>+5', 'a>05', 'a>0', 'a>-0', 'a>9223372036854775807',
  'a>9223372036854775808', 'a<-9223372036854775808', 'a<-9223372036854775809', 'a>99999999999999999999',
  'a>5.5', 'a>5e3', 'a>0x10', 'a>1_000', 'a>b', 'a<b', 'a>', 'a<', 'a>,b', 'a><5', 'a<>5', 'a>=5', 'a<=5', 'a=>5',
  'a=<5', 'a>>5', 'a<<5', 'a>5>6', 'a>(5)', 'a>-', 'a>-b', 'a gt 5', 'a lt 5', 'a gt', 'a>5,b<3', 'a>1,a<10',
  '>', '<', '>a', '<a', '=', '==', '!=', '(', ')', '()', '(,)', '=x', '==x', '!=x', '(a)', ')a', 'a)', 'a(',
  'a,', 'a,,b', ',a', 'a b', 'a b c', 'a;b', 'a&b', 'a|b', 'a=b;c=d', 'a=b&c=d', 'a=b c=d',
  'a\0', '\0a', 'a\0b', 'a=\0', 'a=\0b', 'a=b\0,c', 'a\0=b', 'a \0b', 'a=b,\0', 'a in (b\0c)', 'a in (\0)',
  'a=\0=b', '!\0a', 'a>\0 5', ' \0 a', 'a,\0', 'a=b\0c=d',
  'example.com/a=b', 'a.b.c/d-e_f.g=h', 'example.com/a', '!example.com/a', 'Example.com/a=b', 'example.com/A=b',
  '/a=b', 'a/=b', '/=b', 'a/b/c=d', 'a//b=c', 'example.com//a', '-a.com/b=c', 'a_.com/b=c', 'a..b/c=d', '.a/b=c',
  `${long(253)}/a=b`, `${long(254)}/a=b`, `${long(63, 'b')}.${long(189)}/a`, `${long(64, 'b')}/a`,
  `${long(63)}=b`, `${long(64)}=b`, `${long(200)}=b`, `p/${long(64)}=b`, `a=${long(63)}`, `a=${long(64)}`,
  `a in (${long(64)}, -x)`, `a=${long(64, '-')}`, `${long(64, '-')}=b`, `${long(300, '/')}`,
  'A=B', 'a_b=c', 'a-b=c', 'a.b=c', '_a=b', 'a_=b', '-a=b', 'a-=b', '.a=b', 'a.=b', '1=2', '1a=2b', 'a=_b',
  'a=b_', 'a=.b', 'a=b.', 'a=-', 'a=_', 'a=.', 'a=b-c_d.e', 'a=B', 'a=ü', 'ü=a', 'a in (ü)', 'a=é,b', 'é',
  'a=日本', '日本=a', 'a=😀', '😀', 'a in (😀, ü)', 'a=\u00ad', 'a=\u200b', 'a=\ufeff', 'a=\u0085', 'a=\u00a0b',
  `${long(32, 'é')}=a`, `${long(21, '日')}=a`, `a=${long(32, 'é')}`, `a=${long(40, 'é')}`, `${long(16, '😀')}`,
  `${long(127, 'é')}/a=b`, 'a="b"', 'a=\\b', "a='b'", 'a=b\u0007', 'a=\u007f', 'a=\u001b', 'a=b\u0001c',
  'a=%20', 'a=b%', 'a=*', 'a=?', 'a=b+c', 'a=b:c', 'a=b@c', 'a=b#c', 'a=b[0]', 'a=b{c}', 'a=b/c', 'a=b\u00e9',
  'constructor', 'constructor=x', '!constructor', 'toString in (x)', '__proto__', '__proto__=x', 'hasOwnProperty',
  'valueOf notin (x)', 'toString>5', 'isPrototypeOf<5', 'propertyIsEnumerable', '!__proto__', 'a in (__proto__)',
  'a,b,c', 'a,b,!c', 'c,b,a', 'a,a', 'a=b,a=c', 'a=b,a!=b', 'a in (b),a notin (b)', 'a,!a', 'b=1,a=2,c in (3)',
  ' a = b , c != d , e in ( f , g ) , ! h , i , j notin ( k ) , l > 1 , m < 2 ',
  'a=b,c=d,e=f,g=h,i=j,k=l,m=n,o=p,q=r,s=t', 'a in (b,c,d,e,f,g,h,i,j,k,l,m)',
  'a\0\0b', 'a=b\0\0c', '\0', 'a in (b,\0c)', 'a in (b\0,c)', 'a!\0=b', 'a!=\0\0b',
  'a=\ue000', 'a=\u0301', 'a=\ufffd', 'a=\u{10ffff}', 'a=\u{1f600}x', 'a=\u{e0001}', 'a=\u0378', 'a=\u2028',
  'a in (\ue000, \u{1f600})', 'a in (\uffff, \u{1f600}, -)', 'a in (\u{10000}, \uffff)', 'a in (b, B, -, _, 0)',
  'a in (b),,c', 'a=b,!', '!=a', 'a in (b)c', 'a in (b) c', 'a notin (b)(', 'a>5 ,b', 'a>5,', 'a,>5', 'x/y>5',
];

/** Label maps every selector is matched against: absent keys, empty values, integers at int64's edges, prototype names. */
const labelMaps: Labels[] = [
  {},
  { a: 'b' },
  { a: 'c', b: 'b' },
  { a: '' },
  { a: 'b', c: 'd', e: 'f', g: 'h', i: 'j', k: 'l', m: 'n', o: 'p', q: 'r', s: 't' },
  { a: '5', b: '2', l: '2', m: '1' },
  { a: '6', b: '-3', c: '4', l: '1', m: '3' },
  { a: '-6', b: '+2' },
  { a: '+6', b: '05' },
  { a: '9223372036854775807', b: '-9223372036854775808' },
  { a: '9223372036854775808', b: '99999999999999999999' },
  { a: '5.5', b: '0x10' },
  { a: 'in', in: 'in', notin: 'notin' },
  { 'example.com/a': 'b', 'a.b.c/d-e_f.g': 'h' },
  { constructor: 'x', toString: '6', hasOwnProperty: '', valueOf: 'y', isPrototypeOf: '4', propertyIsEnumerable: '1' },
  { ü: 'a', a: 'ü' },
  { h: 'x', f: 'f', d: 'd', j: 'z' },
];

/** A deterministic generator, so a failure reproduces: mulberry32. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pieces = ['a', 'b', 'c', 'in', 'notin', 'gt', 'x/y', '-', '_', '.', '/', '=', '==', '!=', '!', '(', ')', ',',
  '>', '<', ' ', ' ', '\t', '\n', '\r', '\v', '0', '5', '-1', '+7', '99999999999999999999', 'é', '\0', 'A', ''];

function randomSelectors(count: number): string[] {
  const next = random(15);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) {
      // Token soup: mostly errors, reaching every error path and the lexer's joins of adjacent symbols.
      let s = '';
      const n = 1 + Math.floor(next() * 10);
      for (let j = 0; j < n; j++) s += pick(pieces);
      out.push(s);
    } else {
      // Well-formed terms with an occasional slip, so most parse and their matching is compared.
      const keys = ['a', 'b', 'c', 'in', 'x/y', 'constructor'];
      const values = ['b', 'c', '', '5', '-1', '6', 'in', 'ü', '-x'];
      const terms: string[] = [];
      const n = 1 + Math.floor(next() * 4);
      for (let j = 0; j < n; j++) {
        const key = pick(keys);
        const ws = (): string => pick(['', '', ' ', '\t']);
        const list = (): string => Array.from({ length: Math.floor(next() * 4) }, () => pick(values)).join(pick([',', ', ', ',,']));
        terms.push(
          pick([
            () => key,
            () => `!${ws()}${key}`,
            () => `${key}${ws()}${pick(['=', '==', '!='])}${ws()}${pick(values)}`,
            () => `${key} ${pick(['in', 'notin'])} ${ws()}(${list()})`,
            () => `${key}${ws()}${pick(['>', '<'])}${ws()}${pick(['5', '-1', '0', '6', 'b', '9223372036854775807'])}`,
          ])(),
        );
      }
      out.push(terms.join(pick([',', ',', ' , ', ',,'])));
    }
  }
  return out;
}

function randomLabelMaps(count: number): Labels[] {
  const next = random(1115);
  const keys = ['a', 'b', 'c', 'in', 'x/y', 'constructor'];
  const values = ['b', 'c', '', '5', '-1', '6', 'in', 'ü', '7', '9223372036854775807'];
  return Array.from({ length: count }, () => {
    const labels: Labels = {};
    for (const key of keys) if (next() < 0.5) labels[key] = values[Math.floor(next() * values.length)]!;
    return labels;
  });
}

function ours(selector: string, maps: Labels[]): Answer {
  try {
    const parsed = parseLabelSelector(selector);
    return { matches: maps.map((labels) => parsed.matches(labels)) };
  } catch (error) {
    if (error instanceof SelectorParseError) return { error: error.message };
    throw error;
  }
}

describe('label selectors agree with k8s.io/apimachinery labels.Parse', () => {
  let oracle: GoOracle;

  before(() => {
    oracle = buildGoOracle('label-oracle');
  });
  after(() => oracle.remove());

  function compare(selectors: string[], mapsFor: (i: number) => Labels[]): void {
    const queries = selectors.map((selector, i) => ({ selector, labels: mapsFor(i) }));
    const answers = oracle.ask<Partial<{ error: string; matches: boolean[] }>>(queries);
    const differences: { selector: string; kube: Answer; ours: Answer }[] = [];
    queries.forEach((q, i) => {
      const a = answers[i]!;
      const kube: Answer = a.error !== undefined ? { error: a.error } : { matches: a.matches ?? [] };
      const mine = ours(q.selector, q.labels);
      if (!isDeepStrictEqual(kube, mine)) differences.push({ selector: q.selector, kube, ours: mine });
    });
    assert.deepEqual(differences, []);
  }

  it(`${handPicked.length} hand-picked selectors: the same error or the same matches on ${labelMaps.length} label maps`, () => {
    assert.ok(handPicked.length >= 300);
    compare(handPicked, () => labelMaps);
  });

  it('600 generated selectors: the same error or the same matches on 12 generated label maps', () => {
    const maps = randomLabelMaps(600 * 12);
    compare(randomSelectors(600), (i) => maps.slice(i * 12, i * 12 + 12));
  });

  // How long it takes to parse is bench:hostile's figure (its 20,000-term row), not a test's.
  it('a 60,000-term selector of ~650 KB matches as kube matches it', () => {
    const selector = Array.from({ length: 60_000 }, (_, i) => (i % 3 === 0 ? `k${i}=v` : i % 3 === 1 ? `k${i} in (v,w)` : `!n${i}`)).join(',');
    assert.ok(selector.length > 600_000);
    const labels: Labels = {};
    for (let i = 0; i < 60_000; i += 3) Object.assign(labels, { [`k${i}`]: 'v', [`k${i + 1}`]: 'w' });
    compare([selector], () => [labels, { ...labels, n2: '' }, { ...labels, k3: 'w' }, {}]);
  });
});
