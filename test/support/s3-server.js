#!/usr/bin/env node
/**
 * A local S3-compatible server for the tests: s3rver (npm) on HOST:PORT with bucket BUCKET, its
 * objects under DIR, and in front of it on HOST:PROXY_PORT a proxy that answers 500 to the requests
 * named in FAIL_FILE (read at each request: 'copy' = server-side copies, 'put' = every PUT, anything
 * else = none) and forwards the rest (Host rewritten, see below). Run as its own process: the tests run the scripts with
 * spawnSync, which would block a server in the test's own event loop.
 *
 *   node s3-server.js DIR HOST PORT PROXY_PORT BUCKET [FAIL_FILE] [S3RVER_MODULE]
 *
 * Prints "ready" once both listen.
 */
const { readFileSync } = require('fs');
const http = require('http');

const [dir, host, port, proxyPort, bucket, failFile, s3rverModule] = process.argv.slice(2);
const S3rver = require(s3rverModule || 's3rver');

function failing(req) {
  let mode = '';
  try {
    mode = failFile ? readFileSync(failFile, 'utf8').trim() : '';
  } catch {
    mode = '';
  }
  if (mode === 'copy') return req.headers['x-amz-copy-source'] !== undefined;
  if (mode === 'put') return req.method === 'PUT';
  return false;
}

async function main() {
  const server = new S3rver({ address: host, port: Number(port), silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
  await server.run();
  const proxy = http.createServer((req, res) => {
    if (failing(req)) {
      req.resume();
      res.writeHead(500, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected by the test</Message></Error>');
      return;
    }
    // s3rver takes a Host that is a name (not an IP or localhost) for a bucket (CNAME-style
    // addressing): the clients address s3rver by IP, path-style, whatever name they used.
    const headers = { ...req.headers, host: `127.0.0.1:${port}` };
    const up = http.request({ host, port: Number(port), method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  proxy.listen(Number(proxyPort), host, () => console.log('ready'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
