"""A client of the master endpoint (no Sentinel) run inside a client pod of the e2e harness, with
Debian's python3-redis: redis.Redis(host, port, password, socket_timeout=0.5), RPUSH <key> <seq>
every INTERVAL_MS. Same protocol as writer.py: {"ev": "ready"} after the first acknowledged write;
"stop" on stdin ends it with {"ev": "summary", "acked": [[seq, acked_at_ms], ...], "errors", "attempts"}.
"""
import json
import os
import re
import sys
import threading
import time

import redis

env = os.environ
key = env['KEY']
interval = float(env.get('INTERVAL_MS', '10')) / 1000.0
client = redis.Redis(host=env['REDIS_HOST'], port=int(env.get('REDIS_PORT', '6379')),
                     password=env.get('REDIS_PASSWORD') or None, socket_timeout=0.5)

stop = threading.Event()


def wait_for_stop():
    for line in sys.stdin:
        if 'stop' in line:
            break
    stop.set()


threading.Thread(target=wait_for_stop, daemon=True).start()

acked = []
errors = {}
attempts = 0
seq = 0
announced = False
next_at = time.monotonic()
while not stop.is_set():
    seq += 1
    attempts += 1
    try:
        client.rpush(key, str(seq))
        acked.append([seq, int(time.time() * 1000)])
        if not announced:
            announced = True
            print(json.dumps({'ev': 'ready'}), flush=True)
    except Exception as e:  # every failure is counted, none is fatal
        m = re.sub(r'[0-9a-f]{40}', '<id>', f'{type(e).__name__}: {e}'.split('\n')[0])[:120]
        errors[m] = errors.get(m, 0) + 1
    next_at += interval
    wait = next_at - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    else:
        next_at = time.monotonic()

print(json.dumps({'ev': 'summary', 'acked': acked, 'errors': errors, 'attempts': attempts}), flush=True)
