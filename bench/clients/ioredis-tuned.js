#!/usr/bin/env node
// The ioredis writer of the e2e harness (test/e2e/clients/writer.js, unchanged), with the client-side
// failover settings the README recommends added to its options:
//   retryStrategy: () => 100   reconnect (and ask the Sentinels again) every 100 ms, where the default
//                              waits min(attempt x 50 ms, 2 s), i.e. longer the longer the outage lasts;
//   failoverDetector: true     subscribe to +switch-master on the Sentinels and reconnect when it comes.
// Used by bench/failover.bench.ts as a third writer beside the default ioredis and python3-redis ones.
'use strict';
const path = require('path');
const Redis = require('ioredis');

const TUNED = { retryStrategy: () => 100, failoverDetector: true };

class TunedRedis extends Redis {
  constructor(options) {
    super({ ...options, ...TUNED });
  }
}

// writer.js does `require('ioredis')` and `new Redis({...})`: hand it the subclass.
require.cache[require.resolve('ioredis')].exports = TunedRedis;
require(path.join(__dirname, '..', '..', 'test', 'e2e', 'clients', 'writer.js'));
