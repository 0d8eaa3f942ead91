#!/usr/bin/env node
// A client of the master endpoint (no Sentinel), run inside a client pod of the e2e harness. Same
// protocol as writer.js: {"ev":"ready"} after the first acknowledged write; "stop" on stdin ends it
// with {"ev":"summary", acked: [[seq, ackedAtMs], ...], errors, attempts, ...}.
//   MODE=ioredis:   ioredis with DEFAULT options but host, port and password (what an application
//                   that cannot speak Sentinel writes), RPUSH <key> <seq> every INTERVAL_MS.
//   MODE=redis-cli: one `redis-cli RPUSH` process per write (a new connection each, as scripts do).
//   MODE=reader:    ioredis on the replicas endpoint: every INTERVAL_MS a pipeline ROLE + GET + RPUSH;
//                   reports the roles answered (must be "slave") and writes accepted (must be none).
'use strict';
const { spawn } = require('child_process');
const Redis = require('ioredis');

const env = process.env;
const key = env.KEY;
const interval = Number(env.INTERVAL_MS || 10);
const mode = env.MODE || 'ioredis';
const host = env.REDIS_HOST;
const port = Number(env.REDIS_PORT || 6379);
const password = env.REDIS_PASSWORD || undefined;

const acked = [];
const errors = {};
const roles = {};
let writesAccepted = 0;
let attempts = 0;
let stopping = false;
let announced = false;

const note = (e) => {
  const m = String((e && e.message) || e).split('\n')[0].replace(/[0-9a-f]{40}/g, '<id>').slice(0, 120);
  errors[m] = (errors[m] || 0) + 1;
};
const ready = () => {
  if (announced) return;
  announced = true;
  process.stdout.write(`${JSON.stringify({ ev: 'ready' })}\n`);
};

let redis;
if (mode !== 'redis-cli') {
  redis = new Redis({ host, port, password });
  redis.on('error', () => undefined);
}

function redisCli(seq) {
  return new Promise((resolve, reject) => {
    const p = spawn('redis-cli', ['-h', host, '-p', String(port), '--no-auth-warning', 'RPUSH', key, String(seq)], {
      env: { PATH: env.PATH, REDISCLI_AUTH: password || '' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 2000);
    p.on('close', () => {
      clearTimeout(timer);
      if (/^\(integer\) \d+|^\d+$/.test(out.trim())) resolve();
      else reject(new Error(out.trim() || 'no reply'));
    });
  });
}

async function once(seq) {
  if (mode === 'redis-cli') return redisCli(seq);
  if (mode === 'ioredis') return redis.rpush(key, String(seq));
  // reader: a write must be refused; the role must be a replica's.
  const r = await redis.pipeline().role().get(`${key}:read`).rpush(key, String(seq)).exec();
  const role = r[0][1] ? r[0][1][0] : `error ${r[0][0] && r[0][0].message}`;
  roles[role] = (roles[role] || 0) + 1;
  if (!r[2][0]) writesAccepted++;
  else if (!/READONLY/.test(r[2][0].message)) note(r[2][0]);
  if (r[1][0]) throw r[1][0];
}

async function loop() {
  let seq = 0;
  let next = Date.now();
  while (!stopping) {
    seq++;
    attempts++;
    try {
      await once(seq);
      acked.push([seq, Date.now()]);
      ready();
    } catch (e) {
      note(e);
    }
    next += interval;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else next = Date.now();
  }
}

const done = loop();
process.stdin.on('data', async (d) => {
  if (!String(d).includes('stop') || stopping) return;
  stopping = true;
  await Promise.race([done, new Promise((r) => setTimeout(r, 2500))]);
  process.stdout.write(`${JSON.stringify({ ev: 'summary', acked, errors, attempts, roles, writesAccepted })}\n`, () => process.exit(0));
});
