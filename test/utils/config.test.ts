import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'smol-toml';
import {
  coerce,
  ConfigError,
  defaults,
  key,
  loadToml,
  renderToml,
  toJson,
  validate,
  type Schema,
} from '../../src/utils/config.js';

interface Demo {
  name: string;
  secret: string;
  count: number;
  enabled: boolean;
  buf: number;
  period: number;
  mode: 'sync' | 'semi-async';
}

const schema: Schema<Demo> = {
  title: 'Demo',
  keys: {
    name: key.string('demo', 'The name.\nSecond line.', {
      validate: (v) => (v === '' ? 'must not be empty' : undefined),
    }),
    secret: key.string('', undefined, {
      secret: true,
      validate: (v) => (v === 'bad' ? 'is bad' : undefined),
    }),
    count: key.int(10, 'A count.', { min: 0, max: 100 }),
    enabled: key.bool(false),
    buf: key.size('128kb', 'A size.', { min: 0 }),
    period: key.duration('5s', 'A period.', { min: 1000 }),
    mode: key.enum(['sync', 'semi-async'], 'semi-async', 'A mode.'),
  },
  check: (v) =>
    v.enabled && v.count === 0 ? { key: 'count', problem: 'must be > 0 when enabled' } : undefined,
};

/** Asserts a ConfigError with exactly this one-line message. */
function throwsConfig(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
    assert.ok(!e.message.includes('\n'), 'message must be one line');
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

test('defaults are parsed values', () => {
  assert.deepEqual(defaults(schema), {
    name: 'demo',
    secret: '',
    count: 10,
    enabled: false,
    buf: 131072,
    period: 5000,
    mode: 'semi-async',
  });
});

test('loadToml merges over defaults and warns about unknown keys', () => {
  const { values, warnings } = loadToml(
    'name = "x"\ncount = 3\nbuf = "1mb"\nperiod = 2\nmode = "SYNC"\nextra = 1\n[table]\na = 1\n',
    schema,
  );
  assert.deepEqual(values, {
    ...defaults(schema),
    name: 'x',
    count: 3,
    buf: 1048576,
    period: 2000,
    mode: 'sync',
  });
  assert.deepEqual(warnings, ['unknown key "extra" ignored', 'unknown key "table" ignored']);
});

test('loadToml accepts numbers for sizes and durations', () => {
  const { values } = loadToml('buf = 4096\nperiod = 1.5\n', schema);
  assert.equal(values.buf, 4096);
  assert.equal(values.period, 1500);
});

test('loadToml errors are one line and name the key', () => {
  throwsConfig(() => loadToml('period = "5x"', schema), 'invalid period = "5x": not a duration');
  throwsConfig(() => loadToml('buf = "12qb"', schema), 'invalid buf = "12qb": not a size');
  throwsConfig(() => loadToml('buf = true', schema), 'invalid buf = true: not a size');
  throwsConfig(() => loadToml('count = "3"', schema), 'invalid count = "3": not an integer');
  throwsConfig(() => loadToml('count = 1.5', schema), 'invalid count = 1.5: not an integer');
  throwsConfig(() => loadToml('count = -1', schema), 'invalid count = -1: must be >= 0');
  throwsConfig(() => loadToml('count = 101', schema), 'invalid count = 101: must be <= 100');
  throwsConfig(() => loadToml('enabled = "yes"', schema), 'invalid enabled = "yes": not a boolean');
  throwsConfig(() => loadToml('name = 5', schema), 'invalid name = 5: not a string');
  throwsConfig(() => loadToml('name = ""', schema), 'invalid name = "": must not be empty');
  throwsConfig(() => loadToml('name = [1, 2]', schema), 'invalid name = [1,2]: not a string');
  throwsConfig(() => loadToml('period = "500ms"', schema), 'invalid period = "500ms": must be >= 1s');
  throwsConfig(
    () => loadToml('mode = "async"', schema),
    'invalid mode = "async": must be one of "sync", "semi-async"',
  );
  throwsConfig(
    () => loadToml('enabled = true\ncount = 0', schema),
    'invalid count = 0: must be > 0 when enabled',
  );
});

test('secret values never appear in errors', () => {
  throwsConfig(() => loadToml('secret = "bad"', schema), 'invalid secret: is bad');
  throwsConfig(() => loadToml('secret = 1234', schema), 'invalid secret: not a string');
});

test('TOML syntax errors are one line with the position', () => {
  throwsConfig(() => loadToml('name = "x"\ncount = \n', schema), /^invalid TOML at line 2, column \d+: /);
  throwsConfig(() => loadToml('count = 1\ncount = 2\n', schema), /^invalid TOML at line 2/);
  throwsConfig(() => loadToml('x = = 1', schema, { source: 'a.toml' }), /^a\.toml: invalid TOML at line 1/);
});

test('the source is prefixed to messages', () => {
  throwsConfig(
    () => loadToml('count = -1', schema, { source: 'a.toml' }),
    'a.toml: invalid count = -1: must be >= 0',
  );
  const { warnings } = loadToml('zzz = 1', schema, { source: 'a.toml' });
  assert.deepEqual(warnings, ['a.toml: unknown key "zzz" ignored']);
});

test('loadToml can merge over a base', () => {
  const base = { ...defaults(schema), count: 50 };
  assert.equal(loadToml('name = "y"', schema, { base }).values.count, 50);
});

test('coerce converts single values', () => {
  assert.equal(coerce('buf', schema.keys.buf, '2kb'), 2048);
  throwsConfig(() => coerce('buf', schema.keys.buf, '2zb'), 'invalid buf = "2zb": not a size');
});

test('validate checks a whole values object', () => {
  validate(schema, defaults(schema));
  throwsConfig(
    () => validate(schema, { ...defaults(schema), count: -5 }),
    'invalid count = -5: must be >= 0',
  );
  throwsConfig(
    () => validate(schema, { ...defaults(schema), period: 10 }),
    'invalid period = "10ms": must be >= 1s',
  );
  throwsConfig(
    () => validate(schema, { ...defaults(schema), mode: 'x' as Demo['mode'] }),
    'invalid mode = "x": must be one of "sync", "semi-async"',
  );
  throwsConfig(
    () => validate(schema, { ...defaults(schema), count: '1' as unknown as number }),
    'invalid count = "1": not a number',
  );
  throwsConfig(
    () => validate(schema, { ...defaults(schema), count: 1.5 }),
    /invalid count = 1.5: not a finite integer/,
  );
  throwsConfig(
    () => validate(schema, { ...defaults(schema), enabled: true, count: 0 }),
    'invalid count = 0: must be > 0 when enabled',
  );
});

test('renderToml writes documented TOML that re-parses to the same values', () => {
  const values = { ...defaults(schema), name: 'quote " and \\ and \n', buf: 1024 ** 3, period: 5_400_000 };
  const text = renderToml(schema, values);
  assert.match(text, /^\n#{50}\n#\s+#\n#\s+Demo\s+#\n/);
  assert.match(text, /\n# The name\.\n# Second line\.\nname = /);
  assert.match(text, /\nbuf = "1gb"\n/);
  assert.match(text, /\nperiod = "90m"\n/);
  assert.match(text, /\nname = .*\nsecret = ""\n\n# A count\.\ncount = 10\nenabled = false\n/);
  assert.deepEqual(loadToml(text, schema).values, values);
  assert.deepEqual({ ...parse(text) }.count, 10);
});

test('toJson writes units as strings and hides secrets', () => {
  const json = toJson(schema, { ...defaults(schema), secret: 's3' });
  assert.deepEqual(json, {
    name: 'demo',
    count: 10,
    enabled: false,
    buf: '128kb',
    period: '5s',
    mode: 'semi-async',
  });
  assert.deepEqual(Object.keys(toJson(schema, defaults(schema), ['name', 'count'])), [
    'secret',
    'enabled',
    'buf',
    'period',
    'mode',
  ]);
});
