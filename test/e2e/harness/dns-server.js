#!/usr/bin/env node
// The harness's cluster DNS (stands in for CoreDNS). Run inside its own network namespace:
//   node dns-server.js <listen-ip> <port> <log-file>
// Answers A queries from a table the harness sends on stdin, one JSON object per line:
//   {"seq": 7, "records": {"redis-master-0.redis-master-headless.redis.svc.cluster.local": ["10.213.1.4"], ...}}
// and acknowledges each table on stdout with {"ack": 7} once it is in force.
// A known name: its A records (order shuffled per answer); AAAA or any other type of a known name:
// NOERROR with no answer (NODATA); any other name: NXDOMAIN. UDP and TCP (2-byte length framing).
'use strict';
const dgram = require('dgram');
const net = require('net');
const fs = require('fs');
const readline = require('readline');

const [ip, portText, logFile] = process.argv.slice(2);
const port = Number(portText);
const TTL = 5;
let records = new Map();
const log = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : null;
const note = (line) => log && log.write(`${new Date().toISOString()} ${line}\n`);

function readName(msg, offset) {
  const labels = [];
  let jumped = false;
  let next = offset;
  for (let guard = 0; guard < 128; guard++) {
    const len = msg[offset];
    if (len === undefined) throw new Error('truncated name');
    if ((len & 0xc0) === 0xc0) {
      if (!jumped) next = offset + 2;
      offset = ((len & 0x3f) << 8) | msg[offset + 1];
      jumped = true;
      continue;
    }
    if (len === 0) {
      if (!jumped) next = offset + 1;
      return { name: labels.join('.'), next };
    }
    labels.push(msg.toString('latin1', offset + 1, offset + 1 + len));
    offset += 1 + len;
  }
  throw new Error('name too long');
}

function shuffle(list) {
  const a = list.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function answer(query) {
  if (query.length < 12) return null;
  const id = query.readUInt16BE(0);
  const flags = query.readUInt16BE(2);
  const qd = query.readUInt16BE(4);
  const opcode = (flags >> 11) & 0xf;
  const rd = flags & 0x0100;
  const header = (rcode, an, questionEnd) => {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(id, 0);
    h.writeUInt16BE(0x8000 | (opcode << 11) | 0x0400 | rd | 0x0080 | rcode, 2);
    h.writeUInt16BE(questionEnd ? 1 : 0, 4);
    h.writeUInt16BE(an, 6);
    return h;
  };
  if (opcode !== 0 || qd < 1) return header(4, 0, 0); // NOTIMP
  let q;
  try {
    q = readName(query, 12);
  } catch {
    return header(1, 0, 0); // FORMERR
  }
  const questionEnd = q.next + 4;
  if (questionEnd > query.length) return header(1, 0, 0);
  const qtype = query.readUInt16BE(q.next);
  const name = q.name.toLowerCase().replace(/\.$/, '');
  const question = query.subarray(12, questionEnd);
  const ips = records.get(name);
  let rcode = 0;
  const answers = [];
  if (!ips) {
    rcode = 3; // NXDOMAIN
  } else if (qtype === 1 || qtype === 255) {
    for (const a of shuffle(ips)) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(TTL, 6);
      rr.writeUInt16BE(4, 10);
      a.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
      answers.push(rr);
    }
  }
  note(`${name} type ${qtype} -> ${rcode === 3 ? 'NXDOMAIN' : (answers.length ? ips.join(',') : 'NODATA')}`);
  return Buffer.concat([header(rcode, answers.length, questionEnd), question, ...answers]);
}

const udp = dgram.createSocket('udp4');
udp.on('message', (msg, rinfo) => {
  const reply = answer(msg);
  if (reply) udp.send(reply, rinfo.port, rinfo.address);
});

const tcp = net.createServer((sock) => {
  let buf = Buffer.alloc(0);
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      const reply = answer(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
      if (reply) {
        const framed = Buffer.alloc(2 + reply.length);
        framed.writeUInt16BE(reply.length, 0);
        reply.copy(framed, 2);
        sock.write(framed);
      }
    }
  });
  sock.on('error', () => undefined);
});

let listening = 0;
const ready = () => {
  if (++listening === 2) process.stdout.write(`${JSON.stringify({ listening: true })}\n`);
};
udp.bind(port, ip, ready);
tcp.listen(port, ip, ready);

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  const m = JSON.parse(line);
  records = new Map(Object.entries(m.records).map(([k, v]) => [k.toLowerCase(), v]));
  note(`table ${m.seq}: ${records.size} names`);
  process.stdout.write(`${JSON.stringify({ ack: m.seq })}\n`);
});
// The harness is gone: so is its DNS.
rl.on('close', () => process.exit(0));
