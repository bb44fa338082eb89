/**
 * The catalog queries of a live audit. Each one is aggregated on the server (counts and the first
 * {@link SAMPLE} names), so a cluster with thousands of roles or tables costs a few small result sets.
 * No query fetches a password hash: pg_authid is read for the kind of secret and the SCRAM iteration
 * count only. Schemas named pg_* and information_schema are the system's, not the user's.
 */

export const SAMPLE = 20;

const USER_SCHEMA = (col: string): string => `${col} !~ '^pg_' AND ${col} <> 'information_schema'`;
const ISO = (col: string): string => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;

export const IDENTITY_SQL = `
SELECT current_setting('server_version_num')::int AS version_num, current_user AS usr, current_database() AS db,
  (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
  ARRAY(SELECT b.rolname::text FROM pg_roles b
        WHERE b.rolname IN ('pg_monitor', 'pg_read_all_settings', 'pg_read_all_stats', 'pg_read_server_files')
          AND pg_has_role(current_user, b.oid, 'USAGE') ORDER BY 1) AS roles`;

export const SETTINGS_SQL = 'SELECT name, setting, source, sourcefile, sourceline FROM pg_settings';

/** Lines the server refused; "setting could not be applied" only means a restart is pending. */
export const FILE_ERRORS_SQL = `
SELECT sourcefile, sourceline, name, error FROM pg_file_settings
WHERE error IS NOT NULL AND error <> 'setting could not be applied' ORDER BY seqno`;

export const ROLES_SQL = `
SELECT r.rolname AS name, r.oid = 10 AS bootstrap, r.rolsuper AS superuser, r.rolcreaterole AS createrole,
  r.rolcreatedb AS createdb, r.rolcanlogin AS can_login, r.rolreplication AS replication, r.rolbypassrls AS bypassrls,
  CASE WHEN r.rolvaliduntil IS NULL THEN NULL WHEN r.rolvaliduntil = 'infinity' THEN 'infinity' ELSE ${ISO('r.rolvaliduntil')} END AS valid_until,
  ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) AS member_of
FROM pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY r.rolname`;

/** The kind of secret only; the hash itself never leaves the server. */
export const SECRETS_SQL = `
SELECT rolname AS role,
  CASE WHEN rolpassword IS NULL THEN 'none' WHEN rolpassword ~ '^md5[0-9a-f]{32}$' THEN 'md5'
       WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram' ELSE 'other' END AS kind,
  CASE WHEN rolpassword ~ '^SCRAM-SHA-256\\$[0-9]+:' THEN split_part(split_part(rolpassword, '$', 2), ':', 1)::int END AS iterations
FROM pg_authid WHERE rolname !~ '^pg_' ORDER BY rolname`;

export const hbaRulesSql = (versionNum: number): string => (versionNum >= 160000
  ? 'SELECT rule_number, file_name, line_number, type, database, user_name, address, netmask, auth_method, options, error FROM pg_hba_file_rules'
  : 'SELECT line_number, type, database, user_name, address, netmask, auth_method, options, error FROM pg_hba_file_rules');

export const READ_FILE_SQL = 'SELECT pg_read_file($1) AS text';
export const READ_BINARY_FILE_SQL = 'SELECT pg_read_binary_file($1) AS data';

export const EXTENSIONS_SQL = 'SELECT extname FROM pg_extension ORDER BY 1';

export const ARCHIVER_SQL = `
SELECT archived_count::int AS archived_count, failed_count::int AS failed_count, last_failed_wal,
  ${ISO('last_archived_time')} AS last_archived_time, ${ISO('last_failed_time')} AS last_failed_time
FROM pg_stat_archiver`;

export const PUBLIC_CREATE_SQL = `
SELECT n.nspname AS schema, pg_get_userbyid(n.nspowner) AS owner, n.nspacl::text AS acl
FROM pg_namespace n WHERE ${USER_SCHEMA('n.nspname')} AND has_schema_privilege('public', n.oid, 'CREATE') ORDER BY 1`;

export const DATABASES_SQL = `
SELECT datname AS name, datacl::text AS acl, has_database_privilege('public', oid, 'CONNECT') AS public_connect,
  has_database_privilege('public', oid, 'TEMP') AS public_temp
FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY 1`;

/** Relations with privileges granted to PUBLIC (grantee 0 in aclexplode): a count and the first few. */
export const PUBLIC_TABLES_SQL = `
WITH t AS (
  SELECT format('%I.%I', n.nspname, c.relname) AS name, string_agg(DISTINCT a.privilege_type, ',') AS privileges
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL aclexplode(c.relacl) a
  WHERE a.grantee = 0 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND ${USER_SCHEMA('n.nspname')}
  GROUP BY 1)
SELECT (SELECT count(*) FROM t)::int AS count,
  coalesce((SELECT json_agg(s) FROM (SELECT name, privileges FROM t ORDER BY name LIMIT ${SAMPLE}) s), '[]') AS sample`;

/** SECURITY DEFINER functions without `SET search_path` (extension members excluded). */
export const UNPINNED_DEFINERS_SQL = `
WITH f AS (
  SELECT p.oid::regprocedure::text AS name, pg_get_userbyid(p.proowner) AS owner,
    has_function_privilege('public', p.oid, 'EXECUTE') AS "publicExecute"
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE p.prosecdef AND ${USER_SCHEMA('n.nspname')}
    AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\\_path=%')
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'))
SELECT (SELECT count(*) FROM f)::int AS count,
  coalesce((SELECT json_agg(s) FROM (SELECT * FROM f ORDER BY "publicExecute" DESC, name LIMIT ${SAMPLE}) s), '[]') AS sample`;

/** Who owns what in this database (relations, functions, schemas) plus owned databases. */
export const OWNERS_SQL = `
SELECT pg_get_userbyid(owner) AS role, sum(n)::int AS objects FROM (
  SELECT c.relowner AS owner, count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND ${USER_SCHEMA('n.nspname')} GROUP BY 1
  UNION ALL SELECT p.proowner, count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE ${USER_SCHEMA('n.nspname')} GROUP BY 1
  UNION ALL SELECT nspowner, count(*) FROM pg_namespace WHERE ${USER_SCHEMA('nspname')} GROUP BY 1
  UNION ALL SELECT datdba, count(*) FROM pg_database WHERE NOT datistemplate GROUP BY 1
) o GROUP BY 1 ORDER BY 1`;
