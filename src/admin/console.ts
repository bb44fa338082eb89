/**
 * The admin console: an in-process "server" for clients of the virtual databases `gatehouse` and
 * `pgbouncer` (PgBouncer's admin.c). It speaks the simple query protocol only: after the welcome
 * (ParameterStatus as PgBouncer sends them, BackendKeyData, ReadyForQuery) each Query is one
 * command. The extended protocol, or any other message, gets PgBouncer's ERROR and then the FATAL
 * "bad packet". The role is checked against the current config before every command.
 */
import type { Duplex } from 'node:stream';
import { WireError, wire } from '../errors.js';
import type { Config } from '../config/schema.js';
import * as be from '../protocol/backend/encode.js';
import { FrontendCode as F } from '../protocol/codes.js';
import { MessageFramer } from '../protocol/framer.js';
import { decodeQuery } from '../protocol/frontend/decode.js';
import { ProtocolError } from '../protocol/errors.js';
import { FrameReader } from '../session/reader.js';
import { consoleAccess } from './access.js';
import { lookupCommand } from './commands/index.js';
import { runSet } from './commands/set.js';
import { InvalidCommand, type ConsoleContext } from './commands/types.js';
import { parseCommand } from './parse.js';
import { encodeResult, type CommandResult } from './result.js';
import { ConsoleError, type GatewayView } from './view.js';
import { GATEHOUSE_VERSION } from './version.js';

/** The console reads a query of at most this many bytes (PgBouncer's is one 4 KB packet buffer). */
const MAX_CONSOLE_MESSAGE = 65536;
const consoleCap = (): number => MAX_CONSOLE_MESSAGE;

/** admin_setup(): the parameters PgBouncer's console reports, with gatehouse's version. */
const WELCOME: [string, string][] = [
  ['server_version', `${GATEHOUSE_VERSION}/gatehouse`],
  ['client_encoding', 'UTF8'],
  ['server_encoding', 'UTF8'],
  ['DateStyle', 'ISO'],
  ['TimeZone', 'GMT'],
  ['standard_conforming_strings', 'on'],
  ['is_superuser', 'on'],
];

export interface ConsoleOptions {
  socket: Duplex;
  leftover: Buffer;
  user: string;
  database: string;
  view: GatewayView;
  /** The current configuration, for the per-command role check. */
  config(): Config;
  cancelKey: { pid: number; key: number };
  /** A console ERROR was sent (for the errors metric). */
  onError?(error: WireError): void;
}

/** Serves the console until the client leaves; resolves with why it ended. */
export async function runConsole(o: ConsoleOptions): Promise<string> {
  const { socket } = o;
  const welcome = WELCOME.map(([k, v]) => be.parameterStatus(k, v));
  socket.write(Buffer.concat([...welcome, be.backendKeyData(o.cancelKey.pid, o.cancelKey.key), be.readyForQueryIdle]));
  const reader = new FrameReader(socket, o.leftover);
  const framer = new MessageFramer(consoleCap);
  try {
    for (;;) {
      const frame = await reader.read(framer);
      if (frame.type === F.Terminate) return 'client closed';
      if (frame.type !== F.Query) return refuse(o, frame.type);
      const out = await answer(o, decodeQuery(frame.body));
      if (!socket.destroyed) socket.write(out);
    }
  } catch (e) {
    if (e instanceof ProtocolError) send(socket, be.errorResponse(e.wire), true);
    return e instanceof Error ? e.message : String(e);
  } finally {
    reader.detach();
  }
}

/** admin_handle_client(): an ERROR naming the problem, then FATAL "bad packet" and close. */
function refuse(o: ConsoleOptions, type: number): string {
  const extended = type === F.Parse || type === F.Bind || type === F.Execute;
  const error = wire.consoleError(extended ? 'extended query protocol not supported by admin console'
    : `unsupported packet type for admin console: ${type}`);
  o.onError?.(error);
  send(o.socket, Buffer.concat([be.errorResponse(error), be.readyForQueryIdle, be.errorResponse(wire.consoleBadPacket())]), true);
  return 'bad packet';
}

function send(socket: Duplex, data: Buffer, close: boolean): void {
  if (socket.destroyed) return;
  if (close) socket.end(data);
  else socket.write(data);
}

/** One query's answer: the result or the ERROR, then ReadyForQuery. */
async function answer(o: ConsoleOptions, query: string): Promise<Buffer> {
  try {
    return Buffer.concat([encodeResult(await execute(o, query)), be.readyForQueryIdle]);
  } catch (e) {
    const error = toConsoleError(e, query);
    o.onError?.(error);
    if (error.severity === 'FATAL') {
      setImmediate(() => o.socket.destroy());
      return be.errorResponse(error);
    }
    return Buffer.concat([be.errorResponse(error), be.readyForQueryIdle]);
  }
}

function toConsoleError(e: unknown, query: string): WireError {
  if (e instanceof ConsoleError) return wire.consoleError(e.message, e.sqlstate);
  if (e instanceof InvalidCommand) return wire.consoleError(`invalid command '${query}', use SHOW HELP;`);
  if (e instanceof WireError) return e;
  return wire.consoleError('internal error in gatehouse', 'XX000');
}

/** admin_parse_query(): the role check, the grammar, then the command table. */
async function execute(o: ConsoleOptions, query: string): Promise<CommandResult> {
  const access = consoleAccess(o.config(), o.user);
  // The role left admin.users and admin.stats_users since it logged in (a RELOAD): end its session.
  if (!access) throw wire.consoleNotAllowed();
  const ctx: ConsoleContext = { view: o.view, database: o.database, user: o.user, access };
  const parsed = parseCommand(query);
  switch (parsed.kind) {
    case 'invalid':
      throw new InvalidCommand();
    case 'bad-arguments':
      throw new ConsoleError('bad arguments');
    case 'set':
      return runSet(ctx, parsed.key);
    case 'command': {
      const command = lookupCommand(parsed.name);
      if (!command) throw new InvalidCommand();
      if (command.access === 'admin' && access !== 'admin') throw new ConsoleError('admin access needed');
      return command.run(ctx, parsed.arg);
    }
  }
}
