#!/usr/bin/env node
// The harness kubelet's httpGet prober for one pod: a long-lived process in the pod's network
// namespace (the node's own namespace has no route to the pod bridge here), so that a probe costs
// one HTTP request, as the kubelet's does, and not a process start (a Node start per probe cost
// ~0.4 s of CPU and, on a loaded machine, more than the probe's 1 s timeout).
//   ip netns exec <pod-netns> node prober.js
// Requests on stdin, one per line: `<id> <timeoutMs> <url>`. Answers on stdout, one per line:
// `<id> <status>` (the HTTP status) or `<id> 0 <error message>`. The timeout covers connecting and
// the response head, like the kubelet's. Exits when stdin closes.
'use strict';
const http = require('http');
const readline = require('readline');

const answer = (id, status, message) => process.stdout.write(`${id} ${status}${message ? ` ${message.replace(/\s+/g, ' ')}` : ''}\n`);

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [id, timeoutText, url] = line.split(' ');
  let done = false;
  const finish = (status, message) => {
    if (done) return;
    done = true;
    answer(id, status, message);
  };
  const req = http.get(url, { agent: false, headers: { 'User-Agent': 'kube-probe/harness', Connection: 'close' } }, (res) => {
    finish(res.statusCode ?? 0);
    res.resume();
    req.destroy();
  });
  req.setTimeout(Number(timeoutText), () => {
    finish(0, 'timed out');
    req.destroy();
  });
  req.on('error', (e) => finish(0, e.message));
}).on('close', () => process.exit(0));
