/** gatehouse's version, from package.json (SHOW VERSION and the console's server_version). */
import { createRequire } from 'node:module';

export const GATEHOUSE_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
