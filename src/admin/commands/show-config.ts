/** SHOW CONFIG: every configuration key with its value, default and whether a reload changes it. */
import { resultSet } from '../result.js';
import type { ShowCommand } from './types.js';

export const showConfig: ShowCommand = (ctx) => ({
  tag: 'SHOW',
  result: resultSet('ssss', ['key', 'value', 'default', 'changeable'],
    ctx.view.config().map((r) => [r.key, r.value, r.default, r.changeable])),
});
