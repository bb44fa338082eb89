import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelRegistry, type CancelTarget } from '../../../src/session/cancel.js';
import * as be from '../../../src/protocol/backend/encode.js';
import { decodeBackendKeyData } from '../../../src/protocol/backend/decode.js';

const server: CancelTarget = { host: '127.0.0.1', port: 5432, pid: 777, key: Buffer.from([1, 2, 3, 4]) };

/** The key as a client holds it: the 4 bytes of the BackendKeyData gatehouse sent, which its CancelRequest returns. */
function keyAsSent(pid: number, key: number): Buffer {
  return decodeBackendKeyData(be.backendKeyData(pid, key).subarray(5)).key;
}

test('a cancel with the key from BackendKeyData reaches the server the client holds, whatever the key\'s sign bit', () => {
  const r = new CancelRegistry();
  let signs = 0;
  for (let i = 0; i < 64 || signs !== 3; i++) {
    const { pid, key } = r.issue();
    const sent = keyAsSent(pid, key);
    assert.equal(sent.length, 4);
    signs |= key < 0 ? 1 : 2;
    assert.equal(r.resolve(pid, sent), null, 'no server yet');
    r.route(pid, server);
    assert.deepEqual(r.resolve(pid, sent), server);
    r.route(pid, { cancelTarget: () => null });
    assert.equal(r.resolve(pid, sent), null, 'the native plane holds no server for it');
  }
});

const wrong: Array<[string, (k: Buffer) => Buffer]> = [
  ['one bit flipped in the first byte', (k) => Buffer.from([k[0]! ^ 0x80, k[1]!, k[2]!, k[3]!])],
  ['one bit flipped in the last byte', (k) => Buffer.from([k[0]!, k[1]!, k[2]!, k[3]! ^ 1])],
  ['three bytes', (k) => k.subarray(0, 3)],
  ['eight bytes (the key then zeros)', (k) => Buffer.concat([k, Buffer.alloc(4)])],
];

for (const [name, bad] of wrong) {
  test(`a cancel is dropped for a wrong key: ${name}`, () => {
    const r = new CancelRegistry();
    const { pid, key } = r.issue();
    r.route(pid, server);
    assert.equal(r.resolve(pid, bad(keyAsSent(pid, key))), null);
    assert.deepEqual(r.resolve(pid, keyAsSent(pid, key)), server);
  });
}

test('a released client\'s key no longer cancels anything', () => {
  const r = new CancelRegistry();
  const { pid, key } = r.issue();
  r.route(pid, server);
  r.release(pid);
  assert.equal(r.resolve(pid, keyAsSent(pid, key)), null);
  assert.equal(r.size, 0);
});

test('keys are numbers, not Buffers: a 4-byte Buffer cut from Node\'s shared pool would keep its whole 8 KiB slab alive per idle client', () => {
  const r = new CancelRegistry();
  for (let i = 0; i < 8; i++) assert.equal(typeof r.issue().key, 'number');
});
