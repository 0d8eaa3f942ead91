#!/usr/bin/env node
// A writer client run inside a client pod of the e2e harness (kubectl exec). Appends its sequence
// numbers to a Redis list (RPUSH <key> <seq>) every INTERVAL_MS and records which were acknowledged.
//   MODE=sentinel: ioredis with DEFAULT options, given only the Sentinel Service, the master name
//                  and the passwords (what an application would write).
//   MODE=direct:   one Redis address (no Sentinel), failing fast: measures whether THAT server accepts writes.
// With TLS_CA set (TLS_CERT/TLS_KEY: a client certificate, for mutual TLS), every connection speaks TLS;
// in sentinel mode with the three options TLS needs (tls, sentinelTLS, enableTLSForSentinelMode).
// Each write is followed, on the same connection (one pipeline), by WAIT 1 <CONFIRM_MS>: a write is
// "confirmed" when a replica acknowledged it too (what an application that must not lose it does;
// replication is asynchronous, so a crash can lose a write the master alone acknowledged).
// Protocol: prints JSON lines {"ev":"ready"} after its first acknowledged write, then, after "stop"
// on stdin, {"ev":"summary", acked: [[seq, ackedAtMs, confirmed 0|1], ...], errors: {message: count}, attempts}.
'use strict';
const Redis = require('ioredis');
const pushConfirmed = require('./push-confirmed');

const env = process.env;
const key = env.KEY;
const interval = Number(env.INTERVAL_MS || 10);
const mode = env.MODE || 'sentinel';
const confirmMs = Number(env.CONFIRM_MS || 200);
const password = env.REDIS_PASSWORD || undefined;
// With ACL users: the application user, on Redis and on the Sentinels.
const username = env.REDIS_USERNAME || undefined;
const fs = require('fs');
const tls = env.TLS_CA ? {
  ca: fs.readFileSync(env.TLS_CA),
  ...(env.TLS_CERT ? { cert: fs.readFileSync(env.TLS_CERT), key: fs.readFileSync(env.TLS_KEY) } : {}),
} : undefined;

let redis;
if (mode === 'sentinel') {
  redis = new Redis({
    sentinels: [{ host: env.SENTINEL_HOST, port: Number(env.SENTINEL_PORT || 26379) }],
    name: env.MASTER_NAME || 'mymaster',
    username,
    password,
    sentinelUsername: username,
    sentinelPassword: password,
    ...(tls ? { tls, sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
  });
} else {
  redis = new Redis({
    host: env.REDIS_HOST,
    port: Number(env.REDIS_PORT || 6379),
    username,
    password,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    retryStrategy: () => 100,
    reconnectOnError: () => false,
    ...(tls ? { tls } : {}),
  });
}
redis.on('error', () => undefined);

const acked = [];
const errors = {};
let attempts = 0;
let stopping = false;
let announced = false;

const note = (e) => {
  const m = String((e && e.message) || e).split('\n')[0].replace(/[0-9a-f]{40}/g, '<id>').slice(0, 120);
  errors[m] = (errors[m] || 0) + 1;
};

async function loop() {
  let seq = 0;
  let next = Date.now();
  while (!stopping) {
    seq++;
    attempts++;
    try {
      const [at, replicas] = await pushConfirmed(redis, key, String(seq), confirmMs);
      acked.push([seq, at, replicas >= 1 ? 1 : 0]);
      if (!announced) {
        announced = true;
        process.stdout.write(`${JSON.stringify({ ev: 'ready' })}\n`);
      }
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
  // A write still blocked (e.g. on a partitioned server) is abandoned: it was never acknowledged.
  await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
  process.stdout.write(`${JSON.stringify({ ev: 'summary', acked, errors, attempts })}\n`, () => process.exit(0));
});
