import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectHazards, hazardNames } from '../../../src/pool/hazards.js';

const tracked = (n: string): boolean => n === 'application_name' || n === 'timezone';
const check = (sql: string): { set: string[]; clear: string[] } => {
  const r = detectHazards(Buffer.from(sql), 0, Buffer.byteLength(sql), tracked);
  return { set: hazardNames(r & 0xff), clear: hazardNames(r >> 8) };
};

const cases: [string, string[], string[]][] = [
  ['SET work_mem = \'8MB\'', ['SET'], []],
  ['set local work_mem = 1', [], []],
  ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', [], []],
  ['SET application_name = \'x\'', [], []],
  ['SET TimeZone TO \'UTC\'', [], []],
  ['SET SESSION AUTHORIZATION bob', ['SET'], []],
  ['RESET work_mem', ['SET'], []],
  ['RESET ALL', [], ['SET']],
  ['select pg_advisory_lock(1)', ['advisory lock'], []],
  ['SELECT pg_try_advisory_lock_shared(1, 2)', ['advisory lock'], []],
  ['select pg_advisory_xact_lock(1)', [], []],
  ['select pg_advisory_unlock_all()', [], ['advisory lock']],
  ['PREPARE p AS select 1', ['PREPARE'], []],
  ['PREPARE TRANSACTION \'t1\'', [], []],
  ['DEALLOCATE ALL', [], ['PREPARE']],
  ['listen chan', ['LISTEN'], []],
  ['UNLISTEN *', [], ['LISTEN']],
  ['unlisten chan', [], []],
  ['CREATE TEMP TABLE t (a int)', ['temporary table'], []],
  ['create temporary table t (a int) on commit drop', [], []],
  ['CREATE GLOBAL TEMPORARY TABLE t (a int) ON COMMIT DELETE ROWS', ['temporary table'], []],
  ['CREATE TEMP VIEW v AS select 1', ['temporary table'], []],
  ['create table t (a int)', [], []],
  ['DECLARE c CURSOR WITH HOLD FOR select 1', ['WITH HOLD cursor'], []],
  ['DECLARE c CURSOR WITHOUT HOLD FOR select 1', [], []],
  ['CLOSE ALL', [], ['WITH HOLD cursor']],
  ['LOAD \'auto_explain\'', ['LOAD'], []],
  ['DISCARD ALL', [], ['SET', 'advisory lock', 'PREPARE', 'LISTEN', 'temporary table', 'WITH HOLD cursor', 'LOAD']],
  ['DISCARD TEMP', [], ['temporary table']],
  ['SELECT 1 AS a INTO TEMP t', ['temporary table'], []],
  ['select * into temporary table t from pg_class', ['temporary table'], []],
  ['WITH x AS (select 1) SELECT * INTO LOCAL TEMP t FROM x', ['temporary table'], []],
  ['SELECT * INTO t FROM pg_class', [], []],
  // Whatever is created in the temporary schema is temporary (PostgreSQL's RangeVarAdjustRelationPersistence).
  ['CREATE TABLE pg_temp.t (a int)', ['temporary table'], []],
  ['create table PG_TEMP . t (a int)', ['temporary table'], []],
  ['CREATE TABLE "pg_temp".t (a int)', ['temporary table'], []],
  ['CREATE TABLE pg_temp_3.t (a int)', ['temporary table'], []],
  ['CREATE TABLE pg_temp.t (a int) ON COMMIT DROP', [], []],
  ['CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS $$ select 1 $$', ['temporary table'], []],
  ['CREATE OR REPLACE VIEW pg_temp.v AS select 1', ['temporary table'], []],
  ['CREATE SEQUENCE pg_temp.s', ['temporary table'], []],
  ['SELECT 1 AS a INTO pg_temp.t', ['temporary table'], []],
  ['select 1 as a into "pg_temp".t', ['temporary table'], []],
  ['CREATE TABLE "PG_TEMP".t (a int)', [], []],
  ['CREATE TABLE pg_temporal.t (a int)', [], []],
  ['CREATE TABLE pg_temp_x.t (a int)', [], []],
  ['CREATE TABLE t (pg_temp int)', [], []],
  ['SELECT * FROM pg_temp.t', [], []],
  ['CREATE TABLE t AS SELECT pg_advisory_lock(1)', ['advisory lock'], []],
  ['INSERT INTO temp VALUES (1)', [], []],
  ["select 'into temp t'", [], []],
  // Quotes, dollar quotes and comments hide keywords; a later statement in the same Query counts.
  ['select \'LISTEN x\', "set", $$ listen y $$, $f$ SET z $f$ -- listen\n', [], []],
  ['/* LISTEN /* nested */ x */ select 1', [], []],
  ['select 1; LISTEN x', ['LISTEN'], []],
  ['BEGIN; SET work_mem = 1; COMMIT', ['SET'], []],
  ['select E\'it\\\'s\'; listen q', ['LISTEN'], []],
];

for (const [sql, set, clear] of cases) {
  test(`hazards: ${JSON.stringify(sql)}`, () => assert.deepEqual(check(sql), { set, clear }));
}
