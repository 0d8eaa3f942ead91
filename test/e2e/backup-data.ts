/**
 * The data set of the backup suites (backup.test.ts, s3-backup.test.ts) and the digest that proves a
 * restore equal to the original: every key, type and value.
 */
import { Deployment } from './deployment';

/** Keys written by dataSet(). */
export const KEYS = 10_000;

/** RESP for one command. */
const resp = (args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

/** The data set: 10,000 keys, strings, hashes, lists, sets and sorted sets. */
export function dataSet(): string {
  const cmds: string[][] = [];
  for (let i = 0; i < 4000; i++) cmds.push(['SET', `bk:s:${i}`, `value-${i}-${'x'.repeat(i % 50)}`]);
  for (let i = 0; i < 1500; i++) cmds.push(['HSET', `bk:h:${i}`, 'name', `n${i}`, 'count', String(i * 7), 'blob', 'é€😀'.repeat(i % 5)]);
  for (let i = 0; i < 1500; i++) cmds.push(['RPUSH', `bk:l:${i}`, `a${i}`, `b${i}`, `c${i}`]);
  for (let i = 0; i < 1500; i++) cmds.push(['SADD', `bk:set:${i}`, `m${i}`, `n${i}`, 'shared']);
  for (let i = 0; i < 1500; i++) cmds.push(['ZADD', `bk:z:${i}`, '1', 'one', '2.5', `two-${i}`, String(i), 'nth']);
  return cmds.map(resp).join('');
}

/** Every `bk:*` key with its type and value, canonically ordered, as one SHA-1 (Redis' own Lua). */
const DIGEST_LUA = [
  "local keys = redis.call('KEYS', 'bk:*')",
  'table.sort(keys)',
  'local parts = {}',
  'for _, k in ipairs(keys) do',
  "  local t = redis.call('TYPE', k)['ok']",
  '  local v',
  "  if t == 'string' then v = redis.call('GET', k)",
  "  elseif t == 'hash' then local h = redis.call('HGETALL', k); local f = {}; for i = 1, #h, 2 do f[#f + 1] = h[i] .. '=' .. h[i + 1] end; table.sort(f); v = table.concat(f, ',')",
  "  elseif t == 'list' then v = table.concat(redis.call('LRANGE', k, 0, -1), ',')",
  "  elseif t == 'set' then local m = redis.call('SMEMBERS', k); table.sort(m); v = table.concat(m, ',')",
  "  elseif t == 'zset' then v = table.concat(redis.call('ZRANGE', k, 0, -1, 'WITHSCORES'), ',')",
  "  else v = '?' end",
  "  parts[#parts + 1] = k .. '|' .. t .. '|' .. v",
  'end',
  "return {#keys, redis.sha1hex(table.concat(parts, '\\n'))}",
].join('\n');

export async function digest(dep: Deployment, pod: string): Promise<string> {
  return (await dep.cli(pod, ['EVAL', DIGEST_LUA, '0'], 15_000)).replace('\n', ' ');
}

