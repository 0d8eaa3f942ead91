#!/usr/bin/env node
// A scraper run inside a pod labelled as Prometheus (kubectl exec), so the chart's NetworkPolicy is
// what admits it to the exporter sidecars' metrics port, as it admits a real Prometheus.
// Protocol: one JSON line on stdin per round, {"round": n, "timeoutMs": ms, "targets": [{"id", "url"}]};
// it fetches every target at once and answers one JSON line
// {"round": n, "results": [{"id", "ok", "status", "ms", "error", "body"}]}.
'use strict';
const readline = require('readline');

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const req = JSON.parse(line);
  const results = await Promise.all(req.targets.map(async (t) => {
    const t0 = Date.now();
    try {
      const r = await fetch(t.url, { signal: AbortSignal.timeout(req.timeoutMs), headers: { Accept: 'text/plain' } });
      const body = await r.text();
      return { id: t.id, ok: r.status === 200, status: r.status, ms: Date.now() - t0, body };
    } catch (e) {
      return { id: t.id, ok: false, ms: Date.now() - t0, error: String((e.cause && e.cause.code) || e.message) };
    }
  }));
  process.stdout.write(`${JSON.stringify({ round: req.round, results })}\n`);
});
