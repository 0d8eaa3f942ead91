"""A writer client run inside a client pod of the e2e harness, with Debian's python3-redis.

Connects the way the chart's README shows (redis.sentinel.Sentinel, socket_timeout=0.5) or, with
REDIS_HOST set, to that one address without Sentinel (redis.Redis(host, port, password,
socket_timeout=0.5): a client of the master endpoint), then appends its sequence numbers to a
Redis list (RPUSH <key> <seq>) every INTERVAL_MS. Same protocol
as writer.js: {"ev": "ready"} after the first acknowledged write; "stop" on stdin ends it with
{"ev": "summary", "acked": [[seq, acked_at_ms, confirmed], ...], "errors": {message: count},
"errorSpans": {message: [first_ms, last_ms]}, "errorsPerSecond": {epoch_s: n}, "attempts": n}.
Each write is followed on the same connection (one pipeline) by WAIT 1 <CONFIRM_MS>: confirmed (1)
when a replica acknowledged it too; replication is asynchronous, so a crash can lose a write the
master alone acknowledged.
With TLS_CA set (TLS_CERT/TLS_KEY: a client certificate, for mutual TLS), every connection
speaks TLS (ssl=True, to the Sentinels too).
"""
import json
import os
import re
import sys
import threading
import time

import redis
from redis.sentinel import Sentinel

env = os.environ
password = env.get('REDIS_PASSWORD') or None
# With ACL users: the application user, on Redis and on the Sentinels.
username = env.get('REDIS_USERNAME') or None
key = env['KEY']
interval = float(env.get('INTERVAL_MS', '10')) / 1000.0
confirm_ms = int(env.get('CONFIRM_MS', '200'))
tls = {}
if env.get('TLS_CA'):
    tls = {'ssl': True, 'ssl_ca_certs': env['TLS_CA']}
    if env.get('TLS_CERT'):
        tls.update(ssl_certfile=env['TLS_CERT'], ssl_keyfile=env['TLS_KEY'])

if env.get('REDIS_HOST'):
    master = redis.Redis(host=env['REDIS_HOST'], port=int(env.get('REDIS_PORT', '6379')),
                         username=username, password=password, socket_timeout=0.5, **tls)
else:
    # SENTINEL_HOSTS (space-separated, e.g. the Sentinel pods' names in pod order) instead of the one
    # SENTINEL_HOST: redis-py asks them in that order.
    sentinel_hosts = env.get('SENTINEL_HOSTS', '').split() or [env['SENTINEL_HOST']]
    sentinel = Sentinel([(h, int(env.get('SENTINEL_PORT', '26379'))) for h in sentinel_hosts],
                        # sentinel_kwargs replaces the Sentinel connections' options (socket_timeout
                        # included): without one, a Sentinel pod that went away mid-reply blocked the
                        # writer for good (seen in a rolling update, Sentinels listed in pod order).
                        sentinel_kwargs={'username': username, 'password': password, 'socket_timeout': 0.5, **tls},
                        username=username, password=password, socket_timeout=0.5, **tls)
    master = sentinel.master_for(env.get('MASTER_NAME', 'mymaster'))

stop = threading.Event()


def wait_for_stop():
    for line in sys.stdin:
        if 'stop' in line:
            break
    stop.set()


threading.Thread(target=wait_for_stop, daemon=True).start()

acked = []
errors = {}
error_spans = {}
errors_per_second = {}
attempts = 0
seq = 0
announced = False
next_at = time.monotonic()
while not stop.is_set():
    seq += 1
    attempts += 1
    try:
        pipe = master.pipeline(transaction=False)
        pipe.rpush(key, str(seq))
        pipe.execute_command('WAIT', 1, confirm_ms)
        pushed, replicas = pipe.execute(raise_on_error=False)
        if isinstance(pushed, Exception):
            raise pushed
        confirmed = 1 if isinstance(replicas, int) and replicas >= 1 else 0
        acked.append([seq, int(time.time() * 1000), confirmed])
        if not announced:
            announced = True
            print(json.dumps({'ev': 'ready'}), flush=True)
    except Exception as e:  # every failure is counted, none is fatal
        m = re.sub(r'[0-9a-f]{40}', '<id>', f'{type(e).__name__}: {e}'.split('\n')[0])[:120]
        errors[m] = errors.get(m, 0) + 1
        now_ms = int(time.time() * 1000)
        error_spans[m] = [error_spans.get(m, [now_ms])[0], now_ms]
        errors_per_second[now_ms // 1000] = errors_per_second.get(now_ms // 1000, 0) + 1
    next_at += interval
    wait = next_at - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    else:
        next_at = time.monotonic()

print(json.dumps({'ev': 'summary', 'acked': acked, 'errors': errors, 'errorSpans': error_spans, 'errorsPerSecond': errors_per_second, 'attempts': attempts}), flush=True)
