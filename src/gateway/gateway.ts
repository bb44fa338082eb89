/**
 * The gateway process: listeners, the live runtime state, reload and shutdown. It owns no
 * protocol logic; each accepted socket goes to serveConnection().
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { GatehouseError, wire, type WireError } from '../errors.js';
import { GatewayEvents } from '../events.js';
import { CancelRegistry } from '../session/cancel.js';
import { serveConnection, type LiveSession, type SessionDeps } from '../session/session.js';
import { describeChanges, loadRuntimeState, type RuntimeState } from './state.js';

export interface ListenAddress {
  kind: 'tcp' | 'unix';
  /** host:port or socket path */
  where: string;
}

export class Gateway {
  readonly events = new GatewayEvents();
  readonly cancels = new CancelRegistry();
  readonly live = new Set<LiveSession>();
  private readonly handshakes = new Set<Socket>();
  private readonly servers: Server[] = [];
  private current: RuntimeState;
  private sessionSeq = 0;
  private stopping = false;
  /** Unauthenticated connections per source address (invariant 2). */
  private readonly handshakesBySource = new Map<string, number>();
  private readonly sessionDeps: SessionDeps;

  /** Loads the config and every file it names; throws GatehouseError on any failure. */
  constructor(readonly configPath: string) {
    this.current = loadRuntimeState(configPath);
    this.sessionDeps = {
      state: () => this.current,
      events: this.events,
      cancels: this.cancels,
      live: this.live,
      handshaking: this.handshakes,
      nextId: () => ++this.sessionSeq,
    };
  }

  get state(): RuntimeState {
    return this.current;
  }

  /** Starts every listener; rejects when one cannot bind (nothing is left listening then). */
  async listen(): Promise<ListenAddress[]> {
    const { listen } = this.current.config;
    const out: ListenAddress[] = [];
    try {
      for (const addr of listen.addresses) out.push(await this.listenTcp(addr, listen.port));
      if (listen.unix_socket_dir) out.push(await this.listenUnix(listen.unix_socket_dir, listen.port, listen.unix_socket_mode));
    } catch (e) {
      await this.closeListeners();
      throw e;
    }
    return out;
  }

  /**
   * Re-reads config, hba, ident, auth file and certificates. Either all of it takes effect or
   * none of it does (invariant 6). Listener addresses and ports need a restart.
   */
  reload(): { ok: boolean; error?: string } {
    try {
      const next = loadRuntimeState(this.configPath, this.current);
      const changed = describeChanges(this.current, next);
      this.current = next;
      this.events.emit('reload', { ok: true, changed });
      return { ok: true };
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      this.events.emit('reload', { ok: false, error });
      return { ok: false, error };
    }
  }

  /**
   * smart (SIGTERM): stop accepting, let sessions finish for shutdown_timeout, then end them.
   * fast (SIGINT): end every session now with 57P01, as PostgreSQL's fast shutdown does.
   */
  async shutdown(mode: 'smart' | 'fast'): Promise<void> {
    if (this.stopping && mode === 'smart') return;
    this.stopping = true;
    await this.closeListeners();
    for (const s of this.handshakes) s.destroy();
    if (mode === 'smart') await this.waitForSessions(this.current.config.shutdown_timeout);
    this.terminateAll(wire.adminShutdown());
    await this.waitForSessions(2000);
    this.current.authQuery?.close();
  }

  terminateAll(error?: WireError): void {
    for (const s of this.live) s.terminate(error);
  }

  private accept(socket: Socket, isUnix: boolean): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const source = isUnix ? '[local]' : (socket.remoteAddress ?? '');
    const n = this.handshakesBySource.get(source) ?? 0;
    if (n >= this.current.config.guard.max_handshakes_per_source) {
      // Before any parsing: a flood from one address must not starve the others.
      this.events.emit('guard', { client: source, reason: 'handshake cap', limit: this.current.config.guard.max_handshakes_per_source });
      socket.destroy();
      return;
    }
    this.handshakesBySource.set(source, n + 1);
    let counted = true;
    const release = (): void => {
      if (!counted) return;
      counted = false;
      const left = (this.handshakesBySource.get(source) ?? 1) - 1;
      if (left <= 0) this.handshakesBySource.delete(source);
      else this.handshakesBySource.set(source, left);
    };
    socket.once('close', release);
    void serveConnection(socket, isUnix, { ...this.sessionDeps, admitted: release });
  }

  private listenTcp(address: string, port: number): Promise<ListenAddress> {
    const server = createServer({ noDelay: true }, (s) => this.accept(s, false));
    const host = address === '*' ? '::' : address;
    return new Promise((resolve, reject) => {
      server.once('error', (e) => reject(new GatehouseError('GH_LISTEN', `could not listen on ${address}:${port}: ${e.message}`, 'listen.addresses')));
      server.listen({ host, port, ipv6Only: false }, () => {
        this.servers.push(server);
        resolve({ kind: 'tcp', where: `${address}:${port}` });
      });
    });
  }

  private async listenUnix(dir: string, port: number, mode: string): Promise<ListenAddress> {
    const path = join(dir, `.s.PGSQL.${port}`);
    if (existsSync(path)) {
      if (await socketInUse(path)) throw new GatehouseError('GH_LISTEN', `socket ${path} is in use by another server`, 'listen.unix_socket_dir');
      unlinkSync(path);
    }
    const server = createServer((s) => this.accept(s, true));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new GatehouseError('GH_LISTEN', `could not listen on ${path}: ${e.message}`, 'listen.unix_socket_dir')));
      server.listen(path, () => resolve());
    });
    chmodSync(path, parseInt(mode, 8));
    this.servers.push(server);
    return { kind: 'unix', where: path };
  }

  /** Stops accepting at once. net.Server.close() calls back only when every connection has closed, so it is not awaited. */
  private closeListeners(): Promise<void> {
    for (const s of this.servers.splice(0)) s.close();
    return Promise.resolve();
  }

  private async waitForSessions(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.live.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  }
}

function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ path });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
