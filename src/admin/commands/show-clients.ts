/** SHOW CLIENTS: one row per client connection. */
import type { ShowCommand } from './types.js';
import { socketResult } from './show-sockets.js';

export const showClients: ShowCommand = (ctx) => ({ tag: 'SHOW', result: socketResult(ctx.view.clients()) });
