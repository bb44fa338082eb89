/** Codes and caps: the tables match postgres.c SocketBackend() and libpq pqParseInput3(). */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import {
  BackendCode, FrontendCode, LARGE_MESSAGE_LIMIT, MAX_AUTH_MESSAGE, SMALL_MESSAGE_LIMIT, BACKEND_SHORT_LIMIT,
  authMessageCap, backendMessageCap, frontendMessageCap,
} from '../../../src/protocol/codes.js';
import { throwsProtocol } from './helpers.js';

const code = (c: string): number => c.charCodeAt(0);

void describe('codes', () => {
  void it('match their characters', () => {
    const chars = { Query: 'Q', Parse: 'P', Bind: 'B', Execute: 'E', Describe: 'D', Close: 'C', Sync: 'S', Flush: 'H', Terminate: 'X', CopyData: 'd', CopyDone: 'c', CopyFail: 'f', FunctionCall: 'F', PasswordMessage: 'p' };
    for (const [name, c] of Object.entries(chars)) assert.equal(FrontendCode[name as keyof typeof FrontendCode], code(c), name);
    assert.equal(BackendCode.ReadyForQuery, code('Z'));
    assert.equal(BackendCode.NegotiateProtocolVersion, code('v'));
    assert.equal(BackendCode.ParseComplete, code('1'));
    assert.equal(LARGE_MESSAGE_LIMIT, 1073741822);
  });
});

void describe('frontendMessageCap (postgres.c SocketBackend)', () => {
  void it('gives Query, FunctionCall, Bind, Parse and CopyData the large cap', () => {
    for (const c of 'QFBPd') assert.equal(frontendMessageCap(code(c)), LARGE_MESSAGE_LIMIT, c);
  });

  void it('gives Terminate, Close, Describe, Execute, Flush, Sync, CopyDone and CopyFail the small cap', () => {
    for (const c of 'XCDEHScf') assert.equal(frontendMessageCap(code(c)), SMALL_MESSAGE_LIMIT, c);
  });

  void it('refuses every other type in PostgreSQL words', () => {
    let refused = 0;
    for (let t = 0; t < 256; t++) {
      if ('QFBPdXCDEHScf'.includes(String.fromCharCode(t))) continue;
      throwsProtocol(() => frontendMessageCap(t), '08P01', `invalid frontend message type ${t}`);
      refused++;
    }
    assert.equal(refused, 256 - 13);
  });
});

void describe('authMessageCap (auth.c, auth-sasl.c)', () => {
  void it('allows only p, up to PG_MAX_AUTH_TOKEN_LENGTH', () => {
    assert.equal(authMessageCap('password')(code('p')), MAX_AUTH_MESSAGE);
    throwsProtocol(() => authMessageCap('password')(code('Q')), '08P01', 'expected password response, got message type 81');
    throwsProtocol(() => authMessageCap('SASL')(code('X')), '08P01', 'expected SASL response, got message type 88');
  });
});

void describe('backendMessageCap (libpq pqParseInput3)', () => {
  void it('lets the long types be long and keeps the rest to 30000', () => {
    for (const c of 'TDdVENAt') assert.equal(backendMessageCap(code(c)), LARGE_MESSAGE_LIMIT, c);
    for (const c of 'RKSZCGHWIvn123sc') assert.equal(backendMessageCap(code(c)), BACKEND_SHORT_LIMIT, c);
  });

  void it('refuses a type no server sends', () => {
    throwsProtocol(() => backendMessageCap(code('Q')), '08P01', 'unexpected response from server; first received character was "Q"');
  });
});
