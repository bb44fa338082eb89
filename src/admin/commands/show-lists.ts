/** SHOW LISTS: internal list sizes, one per row (list, items). */
import { resultSet } from '../result.js';
import type { ShowCommand } from './types.js';

export const showLists: ShowCommand = (ctx) => ({
  tag: 'SHOW',
  result: resultSet('si', ['list', 'items'], ctx.view.lists().map((r) => [r.list, r.items])),
});
