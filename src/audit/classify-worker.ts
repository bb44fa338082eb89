/**
 * The classifier's worker thread (classify.ts starts it for texts over `workerThreshold`): it loads
 * libpg-query's WASM once and answers `{id, text}` with `{id, result}`, so a 20 KB INSERT is parsed
 * here instead of stalling the gateway's event loop.
 */
import { parentPort } from 'node:worker_threads';
import { loadModule } from 'libpg-query';
import { classifyText } from './classify-core.js';
import { REDACTED } from './redact.js';
import type { Classification } from './types.js';

const ready = loadModule();

function classifyOrRedact(text: string): Classification {
  try {
    return classifyText(text);
  } catch {
    return {
      statements: [{ class: 'MISC', command: '???', objects: [], functions: [], text: REDACTED }],
      unparsed: true, redacted: REDACTED, sensitive: true,
    };
  }
}

parentPort?.on('message', (m: { id: number; text: string }) => {
  void ready.then(() => parentPort?.postMessage({ id: m.id, result: classifyOrRedact(m.text) }));
});
