/**
 * Handshake fuzz against a live gateway: at least 10,000 malformed or truncated startup and auth
 * sequences, plaintext and over TLS, from a seeded generator (the seed is printed so a failure
 * reproduces: GATEHOUSE_FUZZ_SEED=n). Afterwards a real client still connects, nothing is left in
 * the gateway's books, and the heap has not grown without bound.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { startCluster, type Cluster } from '../harness/pg.js';
import { makeCertSet, type CertSet } from '../harness/certs.js';
import * as fe from '../../src/protocol/frontend/encode.js';
import { startGatehouse, verifierOf, type Gatehouse } from '../integration/gateway/fixture.js';
import { prng } from '../support/prng.js';

const SEED = Number(process.env.GATEHOUSE_FUZZ_SEED ?? Date.now() % 1_000_000);
const PLAIN = 10_000;
const TLS = 600;
const PW = 'fuzz-pw';

function generator(rand: () => number): () => Buffer {
  const int = (n: number): number => Math.floor(rand() * n);
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
  const startup = (user = 'app'): Buffer => fe.startupMessage(new Map([['user', user], ['database', 'postgres']]));
  const len = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
  const pmsg = (body: Buffer, declared = body.length + 4): Buffer => Buffer.concat([Buffer.from('p'), len(declared), body]);
  const mutate = (b: Buffer): Buffer => {
    const c = Buffer.from(b);
    for (let i = 0, n = 1 + int(4); i < n && c.length > 0; i++) c[int(c.length)] = int(256);
    return c;
  };
  const cases: (() => Buffer)[] = [
    () => bytes(int(64)),
    () => startup().subarray(0, int(startup().length)),
    () => mutate(startup()),
    () => Buffer.concat([len(int(2 ** 31)), bytes(int(16))]),
    () => Buffer.concat([len(8 + int(20000)), bytes(int(64))]),
    () => Buffer.concat([startup(), pmsg(bytes(int(80)))]),
    () => Buffer.concat([startup(), fe.saslInitialResponse('SCRAM-SHA-256', bytes(int(60)))]),
    () => Buffer.concat([startup(), fe.saslInitialResponse('SCRAM-SHA-256', Buffer.from(`n,,n=,r=${'x'.repeat(int(40))}`)), pmsg(bytes(int(120)))]),
    () => Buffer.concat([startup(), fe.saslInitialResponse(['y,,', 'p=tls-server-end-point,,', 'n,a=x,', 'q,,'][int(4)]!.startsWith('x') ? 'X' : 'SCRAM-SHA-256-PLUS', Buffer.from('p=tls-server-end-point,,n=,r=abc'))]),
    () => Buffer.concat([startup(), pmsg(Buffer.alloc(0), 3 + int(2))]),
    () => Buffer.concat([startup(), pmsg(bytes(10), 70_000 + int(1000))]),
    () => Buffer.concat([startup(), Buffer.from([int(256)]), len(int(100)), bytes(int(50))]),
    () => Buffer.concat([fe.gssencRequest, fe.gssencRequest]),
    () => Buffer.concat([fe.sslRequest, bytes(1 + int(30))]),
    () => fe.cancelRequest(int(2 ** 31), bytes(4)),
    () => { // a CancelRequest with a key of any length (the encoder refuses bad ones, so build it by hand)
      const key = bytes(int(300));
      const h = Buffer.alloc(12);
      h.writeInt32BE(12 + key.length);
      h.writeInt32BE(80877102, 4);
      h.writeInt32BE(int(2 ** 31), 8);
      return mutate(Buffer.concat([h, key]));
    },
    () => Buffer.concat([len(8), len(0x00040000 + int(5))]),
    () => fe.startupMessage(new Map(Array.from({ length: int(40) }, (_, i) => [`k${i}`, 'v'.repeat(int(300))]))),
    () => fe.startupMessage(new Map([['user', 'app'], ['replication', ['maybe', 'database', 'true', ''][int(4)]!]])),
    () => fe.startupMessage(new Map([['database', 'postgres']])),
    () => fe.startupMessage(new Map([['user', 'app'], ['_pq_.bogus', 'x']]), int(5)),
  ];
  return () => cases[int(cases.length)]!();
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

let certs: CertSet;
let cluster: Cluster;
let gh: Gatehouse;

before(async () => {
  certs = await makeCertSet();
  cluster = await startCluster({ version: 18 });
  await cluster.createRole('app', { password: PW });
  gh = await startGatehouse({ cluster, certs, hba: 'host all app 127.0.0.1/32 scram-sha-256\n', users: [`"app" "${await verifierOf(cluster, 'app')}"`] });
});
after(async () => {
  await gh?.stop();
  await cluster?.stop();
});

function send(port: number, payload: Buffer, tls: boolean): Promise<void> {
  return new Promise((resolve) => {
    const raw: Socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => raw.destroy(), 2000);
    raw.on('error', () => undefined);
    raw.on('close', () => { clearTimeout(timer); resolve(); });
    raw.resume(); // read (and drop) what the server says, or its close is never seen
    raw.once('connect', () => {
      if (!tls) return void raw.end(payload);
      raw.write(fe.sslRequest);
      raw.pause();
      raw.once('data', (d: Buffer) => {
        if (d[0] !== 0x53) return void raw.destroy();
        const t = tlsConnect({ socket: raw, rejectUnauthorized: false });
        t.on('error', () => raw.destroy());
        t.resume();
        t.once('secureConnect', () => t.end(payload));
      });
    });
  });
}

test(`${PLAIN + TLS} malformed startup/auth sequences, then a real client still gets in (seed ${SEED})`, { timeout: 300_000 }, async () => {
  console.log(`# fuzz seed ${SEED} (GATEHOUSE_FUZZ_SEED=${SEED} reproduces)`);
  const next = generator(prng(SEED));
  await send(gh.port, next(), false);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const jobs = [...Array(PLAIN).fill(false), ...Array(TLS).fill(true)] as boolean[];
  const CONCURRENCY = 64;
  let i = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (i < jobs.length) {
      const tls = jobs[i++]!;
      await send(gh.port, next(), tls);
    }
  }));
  await new Promise((r) => setTimeout(r, 500));
  gc();
  const growth = process.memoryUsage().heapUsed - heapBefore;
  assert.equal(gh.gateway.live.size, 0, 'no session is left open');
  assert.equal(gh.gateway.cancels.size, 0, 'no cancel key is left behind');
  assert.ok(growth < 32 * 1024 * 1024, `heap grew ${(growth / 1048576).toFixed(1)} MiB`);
  const c = new pg.Client({ host: '127.0.0.1', port: gh.port, user: 'app', password: PW, database: 'postgres' });
  await c.connect();
  assert.equal((await c.query('select 7 as n')).rows[0].n, 7);
  await c.end();
});
