// RPUSH <key> <value>, then WAIT 1 <confirmMs> on the same connection (one ioredis pipeline), as an
// application that must not lose a write does. Resolves with [ackedAtMs, replicas]: when the RPUSH
// reply arrived, and how many replicas WAIT counted (a write is "confirmed" when a replica has it;
// replication is asynchronous, so a crash can lose a write the master alone acknowledged).
// Rejects with the RPUSH error.
'use strict';

module.exports = async function pushConfirmed(redis, key, value, confirmMs) {
  let at = 0;
  const [[err], [, replicas]] = await redis.pipeline()
    .rpush(key, value, (e) => { if (!e) at = Date.now(); })
    .wait(1, confirmMs)
    .exec();
  if (err) throw err;
  return [at || Date.now(), replicas];
};
