#!/usr/bin/env node
// A client of the master endpoint (no Sentinel), run inside a client pod of the e2e harness. Same
// protocol as writer.js: {"ev":"ready"} after the first acknowledged write; "stop" on stdin ends it
// with {"ev":"summary", acked: [[seq, ackedAtMs, confirmed 0|1], ...], errors, attempts, ...}: each
// write is followed on its connection by WAIT 1 <CONFIRM_MS> (confirmed: a replica has it too).
//   MODE=ioredis:   ioredis with DEFAULT options but host, port and password (what an application
//                   that cannot speak Sentinel writes), RPUSH <key> <seq> every INTERVAL_MS.
//   MODE=redis-cli: one `redis-cli RPUSH` process per write (a new connection each, as scripts do).
//   MODE=reader:    ioredis on the replicas endpoint: every INTERVAL_MS a pipeline ROLE + GET + RPUSH;
//                   reports the roles answered (must be "slave") and writes accepted (must be none).
'use strict';
const { spawn } = require('child_process');
const Redis = require('ioredis');
const pushConfirmed = require('./push-confirmed');

const env = process.env;
const key = env.KEY;
const interval = Number(env.INTERVAL_MS || 10);
const mode = env.MODE || 'ioredis';
const host = env.REDIS_HOST;
const port = Number(env.REDIS_PORT || 6379);
const password = env.REDIS_PASSWORD || undefined;
const confirmMs = Number(env.CONFIRM_MS || 200);

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

// Resolves with the number of replicas WAIT counted (RPUSH and WAIT on one connection: stdin).
function redisCli(seq) {
  return new Promise((resolve, reject) => {
    const p = spawn('redis-cli', ['-h', host, '-p', String(port), '--no-auth-warning'], {
      env: { PATH: env.PATH, REDISCLI_AUTH: password || '' }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    p.stdin.end(`RPUSH ${key} ${seq}\nWAIT 1 ${confirmMs}\n`);
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 2000);
    p.on('close', () => {
      clearTimeout(timer);
      const [pushed, replicas] = out.trim().split('\n');
      if (/^(\(integer\) )?\d+$/.test(pushed || '')) resolve(Number(String(replicas).replace('(integer) ', '')) || 0);
      else reject(new Error(out.trim() || 'no reply'));
    });
  });
}

// Acknowledged: [ackedAtMs, replicas WAIT counted]; reader: undefined.
async function once(seq) {
  if (mode === 'redis-cli') {
    const replicas = await redisCli(seq);
    return [Date.now(), replicas];
  }
  if (mode === 'ioredis') return pushConfirmed(redis, key, String(seq), confirmMs);
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
      const r = await once(seq);
      acked.push(r ? [seq, r[0], r[1] >= 1 ? 1 : 0] : [seq, Date.now(), 0]);
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
