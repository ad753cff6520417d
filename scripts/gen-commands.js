#!/usr/bin/env node
// Generates src/proxy/commands/table.generated.ts from a real Redis 7 server.
//
// Why from a live server: Redis 7 describes every command (arity, flags, ACL categories, key
// specs, docs) through COMMAND INFO / COMMAND DOCS, and the proxy must answer those same
// commands byte for byte. Asking the server is the only source that is exact for the installed
// version. The script starts a throwaway redis-server on a free 127.0.0.1 port in a temporary
// folder, reads the metadata over a raw socket (a tiny RESP2 parser of its own, no deps),
// stops redis and writes the table. Output is sorted, so runs are reproducible.
//
// Usage: node scripts/gen-commands.js [--redis-server /path/to/redis-server] [--out file]

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const redisBin = opt('--redis-server', process.env.REDIS_SERVER || 'redis-server');
const outFile = resolve(root, opt('--out', 'src/proxy/commands/table.generated.ts'));

// ---------------------------------------------------------------- RESP2 parser
// Each node keeps its byte range [start, end) so that entries can be copied verbatim.

class Incomplete extends Error {}

function parse(buf, pos) {
  const start = pos;
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) throw new Incomplete();
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('latin1', pos + 1, eol);
  pos = eol + 2;
  switch (type) {
    case '+':
    case '-':
      return { type, value: line, start, end: pos };
    case ':':
      return { type, value: Number(line), start, end: pos };
    case '$': {
      const n = Number(line);
      if (n < 0) return { type, value: null, start, end: pos };
      if (buf.length < pos + n + 2) throw new Incomplete();
      return { type, value: buf.toString('utf8', pos, pos + n), start, end: pos + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { type, value: null, start, end: pos };
      const items = [];
      for (let i = 0; i < n; i++) {
        const item = parse(buf, pos);
        items.push(item);
        pos = item.end;
      }
      return { type, value: items, start, end: pos };
    }
    default:
      throw new Error('unexpected RESP type byte ' + JSON.stringify(type));
  }
}

const encodeCommand = (args) =>
  '*' + args.length + '\r\n' + args.map((a) => '$' + Buffer.byteLength(a) + '\r\n' + a + '\r\n').join('');

/** Sends one command and resolves with [parsed reply, raw buffer]. */
function request(sock, args) {
  return new Promise((resolvePromise, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        const node = parse(buf, 0);
        sock.off('data', onData);
        if (node.type === '-') reject(new Error(`${args.join(' ')}: ${node.value}`));
        else resolvePromise([node, buf]);
      } catch (e) {
        if (!(e instanceof Incomplete)) reject(e);
      }
    };
    sock.on('data', onData);
    sock.write(encodeCommand(args));
  });
}

// ---------------------------------------------------------------- redis process

function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

async function connectRetry(port, deadline) {
  for (;;) {
    try {
      return await new Promise((res, rej) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => res(s));
        s.once('error', rej);
      });
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

// ---------------------------------------------------------------- extraction

/** RESP2 map (flat array) → JS object of nodes. */
function pairs(node) {
  const o = {};
  for (let i = 0; i < node.value.length; i += 2) o[node.value[i].value] = node.value[i + 1];
  return o;
}
const strings = (node) => node.value.map((n) => n.value);

function keySpec(node) {
  const m = pairs(node);
  const bs = pairs(m.begin_search);
  const fk = pairs(m.find_keys);
  const bss = bs.type.value === 'unknown' ? {} : pairs(bs.spec);
  const fks = fk.type.value === 'unknown' ? {} : pairs(fk.spec);
  let b, f;
  if (bs.type.value === 'index') b = ['index', bss.index.value];
  else if (bs.type.value === 'keyword') b = ['keyword', bss.keyword.value, bss.startfrom.value];
  else if (bs.type.value === 'unknown') b = ['unknown'];
  else throw new Error('unknown begin_search type ' + bs.type.value);
  if (fk.type.value === 'range') f = ['range', fks.lastkey.value, fks.keystep.value, fks.limit.value];
  else if (fk.type.value === 'keynum')
    f = ['keynum', fks.keynumidx.value, fks.firstkey.value, fks.keystep.value];
  else if (fk.type.value === 'unknown') f = ['unknown'];
  else throw new Error('unknown find_keys type ' + fk.type.value);
  return { flags: strings(m.flags), bs: b, fk: f };
}

/** One COMMAND INFO entry (+ its DOCS map) → table record; `buf` holds the raw bytes. */
function record(info, infoBuf, docNode, docBuf) {
  const v = info.value;
  if (v.length !== 10) throw new Error('COMMAND INFO entry with ' + v.length + ' fields');
  const name = v[0].value;
  const docs = docNode ? docNode.value : [];
  // The DOCS map minus its `subcommands` field (always last in Redis 7.0), copied verbatim.
  let docEnd = docNode ? docNode.end : 0;
  let docFields = docs.length / 2;
  const docMap = docNode ? pairs(docNode) : {};
  if (docMap.subcommands) {
    if (docs[docs.length - 2].value !== 'subcommands') throw new Error(name + ': subcommands not last');
    docEnd = docs[docs.length - 2].start;
    docFields -= 1;
  }
  const docSubs = docMap.subcommands ? pairs(docMap.subcommands) : {};
  const rec = {
    name,
    arity: v[1].value,
    flags: strings(v[2]),
    first: v[3].value,
    last: v[4].value,
    step: v[5].value,
    acl: strings(v[6]),
    tips: strings(v[7]),
    keySpecs: v[8].value.map(keySpec),
    summary: docMap.summary ? docMap.summary.value : '',
    since: docMap.since ? docMap.since.value : '',
    group: docMap.group ? docMap.group.value : '',
    complexity: docMap.complexity ? docMap.complexity.value : '',
    // Raw RESP of the first 9 COMMAND INFO fields (subcommands are appended by the proxy).
    info: infoBuf.toString('utf8', v[0].start, v[8].end),
    docFields,
    docs: docNode ? docBuf.toString('utf8', docs.length ? docs[0].start : docEnd, docEnd) : '',
    subcommands: v[9].value
      .map((sub) => record(sub, infoBuf, docSubs[sub.value[0].value], docBuf))
      .sort((a, b) => (a.name < b.name ? -1 : 1)),
  };
  for (const [field, raw] of [
    ['info', infoBuf.subarray(v[0].start, v[8].end)],
    ['docs', docNode ? docBuf.subarray(docs.length ? docs[0].start : docEnd, docEnd) : Buffer.alloc(0)],
  ]) {
    if (!Buffer.from(rec[field], 'utf8').equals(raw)) throw new Error(name + ': ' + field + ' is not UTF-8');
  }
  return rec;
}

function render(version, commands, helpRaw) {
  const lines = [];
  lines.push(`// generated by scripts/gen-commands.js from redis ${version}; do not edit`);
  lines.push('');
  lines.push(`/** Where a key spec starts searching: a fixed index, after a keyword, or unknown. */
export type BeginSearch =
  | readonly ['index', number]
  | readonly ['keyword', string, number]
  | readonly ['unknown'];
/** How keys are found from there: range [lastkey, keystep, limit] or keynum [keynumidx, firstkey, keystep]. */
export type FindKeys =
  | readonly ['range', number, number, number]
  | readonly ['keynum', number, number, number]
  | readonly ['unknown'];

export interface RedisKeySpec {
  readonly flags: readonly string[];
  readonly bs: BeginSearch;
  readonly fk: FindKeys;
}

export interface RedisCommandSpec {
  /** Redis's lower-case full name: 'get', 'client|setname'. */
  readonly name: string;
  readonly arity: number;
  readonly flags: readonly string[];
  readonly first: number;
  readonly last: number;
  readonly step: number;
  readonly acl: readonly string[];
  readonly tips: readonly string[];
  readonly keySpecs: readonly RedisKeySpec[];
  readonly summary: string;
  readonly since: string;
  readonly group: string;
  readonly complexity: string;
  /** Raw RESP2 of the first 9 COMMAND INFO fields (the subcommands array is left out). */
  readonly info: string;
  /** Number of key/value pairs in \`docs\`. */
  readonly docFields: number;
  /** Raw RESP2 of the COMMAND DOCS map's pairs, without the \`subcommands\` pair. */
  readonly docs: string;
  readonly subcommands: readonly RedisCommandSpec[];
}
`);
  lines.push(`export const REDIS_VERSION = ${JSON.stringify(version)};`);
  lines.push('');
  lines.push('/** Raw RESP2 reply of COMMAND HELP. */');
  lines.push(`export const COMMAND_HELP_REPLY = ${JSON.stringify(helpRaw)};`);
  lines.push('');
  lines.push('export const REDIS_COMMANDS: readonly RedisCommandSpec[] = [');
  for (const c of commands) lines.push('  ' + JSON.stringify(c) + ',');
  lines.push('];');
  lines.push('');
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'gen-commands-'));
  const port = await freePort();
  const child = spawn(
    redisBin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise((res) => child.once('exit', res));
  child.once('error', (e) => {
    console.error('cannot start ' + redisBin + ': ' + e.message);
    process.exit(1);
  });
  let sock;
  try {
    sock = await connectRetry(port, Date.now() + 10_000);
    const [infoSrv] = await request(sock, ['INFO', 'server']);
    const version = /redis_version:(\S+)/.exec(infoSrv.value)[1];
    const [infoNode, infoBuf] = await request(sock, ['COMMAND', 'INFO']);
    const [docsNode, docsBuf] = await request(sock, ['COMMAND', 'DOCS']);
    const [, helpBuf] = await request(sock, ['COMMAND', 'HELP']);
    const docsByName = pairs(docsNode);
    const commands = infoNode.value
      .map((e) => record(e, infoBuf, docsByName[e.value[0].value], docsBuf))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    writeFileSync(outFile, render(version, commands, helpBuf.toString('utf8')));
    const subs = commands.reduce((n, c) => n + c.subcommands.length, 0);
    console.log(`wrote ${outFile}: ${commands.length} commands, ${subs} subcommands (redis ${version})`);
  } finally {
    if (sock) sock.destroy();
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
