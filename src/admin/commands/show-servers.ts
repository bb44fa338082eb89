/** SHOW SERVERS: one row per server connection. */
import type { ShowCommand } from './types.js';
import { socketResult } from './show-sockets.js';

export const showServers: ShowCommand = (ctx) => ({ tag: 'SHOW', result: socketResult(ctx.view.servers()) });
