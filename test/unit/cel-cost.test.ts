// Bounds on admission CEL: kube's runtime cost budget (a tenant controls the object a policy reads, up to 3 MiB and
// lists of 100,000 elements) and the lazily computed `variables` of a ValidatingAdmissionPolicy. Where kube decides
// (which expressions the budget stops, and with what message), the expectation comes from the Go oracle on
// k8s.io/apiserver v0.32.2.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compileCel, costLimitMessage, LazyMap, perCallLimit, type EvalResult } from '../../src/admission/cel/index.js';
import { buildGoOracle, type GoOracle } from '../support/go-oracle.js';

interface Answer {
  value?: unknown;
  error?: string;
  compileError?: string;
  cost: number;
}

function evaluate(expression: string, activation: Record<string, unknown>, costBudget?: number): EvalResult {
  const compiled = compileCel(expression, { variables: Object.keys(activation) });
  assert.ok(compiled.ok, compiled.ok ? '' : compiled.message);
  return compiled.program.evaluate(activation, costBudget === undefined ? undefined : { costBudget });
}

let oracle: GoOracle;
before(() => void (oracle = buildGoOracle('cel-oracle')));
after(() => oracle.remove());

describe('admission CEL runtime cost', () => {
  // cel-go takes tens of seconds on the 100,000-element lists below (the oracle decodes and adapts them as kube does),
  // so kube is asked about 5,000-element lists, where the nested loop is just as far past the budget.
  const items = Array.from({ length: 5_000 }, (_, i) => i);
  const object = { items, names: items.map((i) => `name-${i}`) };
  const cases: Array<{ expression: string; costLimit?: number }> = [
    { expression: 'object.items.all(x, object.items.all(y, y >= 0))' },
    { expression: 'object.items.map(x, object.items.filter(y, y == x).size()).size()' },
    { expression: 'object.names.exists(n, object.names.exists(m, m == n + "!"))' },
    { expression: 'object.items.all(x, x >= 0)' },
    { expression: 'object.items.exists(x, x == 4999)' },
    { expression: 'object.items.filter(x, x % 2 == 0).size()' },
    { expression: 'object.items.map(x, x * 2).size()' },
    { expression: 'object.items.sum()' },
    { expression: "object.names.all(n, n.matches('^name-[0-9]+$'))" },
    { expression: 'object.items.all(x, x >= 0)', costLimit: 1000 },
    { expression: 'object.items.size() == 5000', costLimit: 1000 },
  ];

  it('stops what kube stops, with kube\'s message, and lets through what kube lets through', (t) => {
    const answers = oracle.ask<Answer>(cases.map((c) => ({ expression: c.expression, variables: { object }, costLimit: c.costLimit })));
    cases.forEach((c, i) => {
      const kube = answers[i]!;
      const ours = evaluate(c.expression, { object }, c.costLimit);
      t.diagnostic(`${c.expression}${c.costLimit ? ` (limit ${c.costLimit})` : ''}: kube cost ${kube.cost}${kube.error ? ' (stopped)' : ''}, ours ${ours.cost}${ours.ok ? '' : ' (stopped)'}`);
      if (kube.error !== undefined) {
        assert.equal(kube.error, costLimitMessage, c.expression);
        assert.deepEqual(ours, { ok: false, message: costLimitMessage, cost: ours.cost }, c.expression);
      } else {
        assert.ok(ours.ok, `${c.expression}: ${ours.ok ? '' : ours.message}`);
        assert.deepEqual(ours.value, kube.value, c.expression);
      }
    });
  });

  it('stops a nested loop over a 100,000-element list at the budget', (t) => {
    const big = { items: Array.from({ length: 100_000 }, (_, i) => i) };
    const started = performance.now();
    const result = evaluate('object.items.all(x, object.items.all(y, y >= 0))', { object: big });
    t.diagnostic(`stopped after ${Math.round(performance.now() - started)} ms, cost ${result.cost}`);
    assert.equal(result.ok, false);
    assert.equal(result.ok ? '' : result.message, costLimitMessage);
    assert.ok(result.cost! > perCallLimit);
  });

  it("reads a tenant's megabyte strings in linear time (quantity grammar, URL, regex, format)", () => {
    const zeros = '0'.repeat(1 << 20);
    const s = { zeros: `${zeros}x`, digits: `${zeros}1e3`, spaces: `https://exa${' '.repeat(1 << 20)}mple.com/`, a: `${'a'.repeat(1 << 20)}!` };
    assert.deepEqual(
      ['isQuantity(s.zeros)', 'quantity(s.digits).asInteger()', 'isURL(s.spaces)', "s.a.matches('^(a+)+$')", 'format.dns1123Subdomain().validate(s.a).hasValue()', "quantity('1e999999999')"].map((e) => {
        const r = evaluate(e, { s });
        return r.ok ? r.value : r.message;
      }),
      [false, 1000, false, false, true, 'quantity exponent out of range: e999999999'],
    );
  });

  it('charges comparing and counting big values as it walks them, so a loop over them stops', (t) => {
    const items = Array.from({ length: 100_000 }, (_, i) => ({ name: `item-${i}`, value: i }));
    const object = { spec: { items, data: 'x'.repeat(3 << 20) }, loop: Array.from({ length: 1000 }, (_, i) => i) };
    const oldObject = structuredClone(object);
    for (const expression of [
      'object.loop.all(i, object == oldObject)',
      'object.loop.all(i, object.spec.items[99999] in object.spec.items)',
      'object.loop.all(i, size(object.spec.data) > 0)',
      'object.loop.all(i, object.spec.data == oldObject.spec.data)',
      'object.loop.all(i, sets.contains(object.spec.items.map(x, x.value), [-1]) || true)',
      'sets.intersects(object.spec.items.map(x, x.value), oldObject.spec.items.map(x, -1 - x.value))',
    ]) {
      const started = performance.now();
      const result = evaluate(expression, { object, oldObject });
      t.diagnostic(`${expression}: stopped after ${Math.round(performance.now() - started)} ms`);
      assert.deepEqual({ ok: result.ok, message: result.ok ? undefined : result.message }, { ok: false, message: costLimitMessage }, expression);
    }
    const once = evaluate('object == oldObject', { object, oldObject });
    assert.equal(once.ok && once.value, true);
  });

  it('stops an expression whose cost-limit error a || would otherwise absorb', () => {
    const big = { items: Array.from({ length: 1000 }, (_, i) => i) };
    const result = evaluate('true || object.items.all(x, object.items.all(y, y >= 0))', { object: big });
    assert.equal(result.ok, true, 'short-circuits before the loop');
    const stopped = evaluate('object.items.all(x, object.items.all(y, y >= 0)) || true', { object: big }, 10_000);
    assert.deepEqual({ ok: stopped.ok, message: stopped.ok ? undefined : stopped.message }, { ok: false, message: costLimitMessage });
  });
});

describe('admission CEL lazy variables', () => {
  const compile = (expression: string, variables: string[]) => {
    const compiled = compileCel(expression, { variables });
    assert.ok(compiled.ok, compiled.ok ? '' : compiled.message);
    return compiled.program;
  };
  const object = { spec: { replicas: 3, ratio: 0.5 } };
  const definitions: Record<string, string> = {
    doubled: 'object.spec.replicas * 2',
    half: 'double(object.spec.replicas) / 2.0',
    whole: '4.0',
    maybe: 'object.?spec.?missing',
    broken: 'object.spec.missing',
  };

  function variables(computed: string[]): LazyMap {
    return new LazyMap(Object.keys(definitions), (name) => {
      computed.push(name);
      return compile(definitions[name]!, ['object']).evaluate({ object });
    });
  }

  it('computes a member once, on first read, and only the members read', () => {
    const computed: string[] = [];
    const vars = variables(computed);
    const program = compile('variables.doubled + variables.doubled == 12', ['object', 'variables']);
    const first = program.evaluate({ object, variables: vars });
    const again = program.evaluate({ object, variables: vars });
    assert.deepEqual([first.ok && first.value, again.ok && again.value], [true, true]);
    assert.deepEqual(computed, ['doubled']);
    // The member is paid for by the expression that first reads it.
    const member = compile(definitions.doubled!, ['object']).evaluate({ object });
    assert.equal(first.cost, again.cost! + member.cost!);
  });

  it('keeps a member\'s CEL type: a whole double stays double, an optional stays optional', () => {
    const vars = variables([]);
    const check = (expression: string): unknown => {
      const result = compile(expression, ['object', 'variables']).evaluate({ object, variables: vars });
      return result.ok ? result.value : result.message;
    };
    assert.equal(check('variables.half + 0.5'), 2);
    assert.equal(check('type(variables.whole) == double'), true);
    assert.equal(check('variables.maybe.orValue(7)'), 7);
    assert.equal(check('variables.maybe.hasValue()'), false);
  });

  it("reads a member holding a tenant's object through it, without copying the object", () => {
    let reads = 0;
    const items = new Proxy(
      Array.from({ length: 100_000 }, (_, i) => i),
      {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
          return Reflect.get(target, key, receiver);
        },
      },
    );
    const big = { spec: { items } };
    const vars = new LazyMap(['whole'], () => compile('object', ['object']).evaluate({ object: big }));
    const result = compile('variables.whole.spec.items[7] == 7', ['object', 'variables']).evaluate({ object: big, variables: vars });
    assert.equal(result.ok && result.value, true);
    assert.equal(reads, 1);
  });

  it("fails the reading expression with the member's error, which || absorbs as cel-go's errors are", () => {
    const vars = variables([]);
    const run = (expression: string) => compile(expression, ['object', 'variables']).evaluate({ object, variables: vars });
    const broken = run('variables.broken == 1');
    assert.deepEqual({ ok: broken.ok, message: broken.ok ? undefined : broken.message }, { ok: false, message: 'no such key: missing' });
    assert.equal(run('true || variables.broken == 1').ok, true);
    assert.equal(run('has(variables.broken)').ok, true);
  });
});
