/**
 * The statement classifier the session taps call for every Query and Parse text: pgAudit's class
 * and command per statement, the functions and objects it names, and its redacted text.
 *
 * Cost, in the order a text meets them:
 * 1. an LRU keyed by the exact text (a repeated statement costs a Map lookup);
 * 2. an LRU keyed by the text's shape, its literals replaced by `?` (sql-lexer.ts): pgbench -S sends
 *    `… WHERE aid = 12345` with a new literal each time, which misses (1) but shares (2); only the
 *    statement's own text is rebuilt. Texts that may carry a secret skip (2), so redaction always runs
 *    on their actual text;
 * 3. libpg-query (`parseSync`, about 12 µs for a short statement) on this thread, or, above
 *    `workerThreshold` bytes (a 22 KB INSERT takes about 6 ms), on a worker thread so the event loop
 *    never stalls.
 * Nothing here throws: an internal failure yields an unparsed MISC statement whose text is `<REDACTED>`.
 */
import { Worker } from 'node:worker_threads';
import { loadModule } from 'libpg-query';
import { classifyText, statementText } from './classify-core.js';
import { shapeCached } from './prebuilt.js';
import { mayCarrySecret, REDACTED } from './redact.js';
import { shapeOf } from './sql-lexer.js';
import type { AuditClass, AuditClassName, Classification, ClassifiedStatement } from './types.js';

let loading: Promise<void> | undefined;
let loaded = false;

/** Loads libpg-query's WASM once (about 15 ms); idempotent. Call it before the first classification. */
export async function loadClassifier(): Promise<void> {
  loading ??= loadModule().then(() => { loaded = true; });
  return loading;
}

/** pgAudit's `pgaudit.log` spelling of a class: MISC_SET → `misc_set`. */
export function classNameOf(c: AuditClass): AuditClassName {
  return c.toLowerCase() as AuditClassName;
}

export interface ClassifierOptions {
  /** Entries in each LRU (exact texts and shapes). Default 5000. */
  cacheSize?: number;
  /** Characters of text each LRU may hold as keys (each entry also keeps its redacted copy). Default 16 Mi. */
  cacheChars?: number;
  /** Texts longer than this many UTF-8 bytes are parsed on a worker thread by `classify()`. Default 16384. */
  workerThreshold?: number;
}

/**
 * An LRU on Map's insertion order, bounded in entries and in the characters of its keys: 5,000
 * unique 1 MB INSERTs must not keep 5 GB of text alive (each entry also holds the redacted copy).
 * A hit moves its entry to the young end only once it has aged by half the capacity in insertions:
 * moving on every hit (a delete and a set) made the few hot shapes of a pgbench run rehash the
 * Map over and over; an entry hit at least once per half-capacity insertions is still never evicted.
 */
class Lru<V> {
  private readonly map = new Map<string, { v: V; born: number }>();
  private chars = 0;
  private inserted = 0;
  constructor(private readonly size: number, private readonly maxChars: number) {}
  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (this.inserted - e.born > this.size / 2) {
      this.map.delete(key);
      this.map.set(key, e);
      e.born = ++this.inserted;
    }
    return e.v;
  }
  set(key: string, v: V): void {
    if (key.length > this.maxChars) return;
    if (this.map.delete(key)) this.chars -= key.length;
    this.map.set(key, { v, born: ++this.inserted });
    this.chars += key.length;
    while (this.map.size > this.size || this.chars > this.maxChars) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
      this.chars -= oldest.length;
    }
  }
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/** What a classification is when something inside the classifier broke: nothing of the text survives. */
function failed(): Classification {
  return {
    statements: [{ class: 'MISC', command: '???', objects: [], functions: [], text: REDACTED }],
    unparsed: true, redacted: REDACTED, sensitive: true,
  };
}

function safeClassify(text: string): Classification {
  try {
    return classifyText(text);
  } catch {
    return failed();
  }
}

export class Classifier {
  private readonly byText: Lru<Classification>;
  private readonly byShape: Lru<ClassifiedStatement>;
  private readonly threshold: number;
  private worker: ClassifyWorker | undefined;

  constructor(opts: ClassifierOptions = {}) {
    const size = Math.max(1, opts.cacheSize ?? 5000);
    const maxChars = Math.max(1, opts.cacheChars ?? 16 * 1024 * 1024);
    this.byText = new Lru(size, maxChars);
    this.byShape = new Lru(size, maxChars);
    this.threshold = opts.workerThreshold ?? 16384;
  }

  /**
   * Sync for text under the threshold; a Promise (worker thread) above it. Never throws.
   * Results may be shared with other callers through the caches and are frozen: copy before changing.
   */
  classify(text: string): Classification | Promise<Classification> {
    const hit = this.byText.get(text);
    if (hit) return hit;
    if (!this.isLarge(text)) return this.classifySync(text);
    if (!this.worker || this.worker.dead) this.worker = new ClassifyWorker();
    return this.worker.classify(text).then((c) => this.remember(text, c, null));
  }

  /** Always on this thread (tests, small text). Never throws. */
  classifySync(text: string): Classification {
    const hit = this.byText.get(text);
    if (hit) return hit;
    const shape = this.isLarge(text) || mayCarrySecret(text) ? null : shapeOf(text);
    if (shape) {
      // A shape hit is not cached by text: one-off literals would flood the text LRU.
      const template = this.byShape.get(shape.key);
      if (template) return fromTemplate(template, text, shape.cut);
    }
    return this.remember(text, safeClassify(text), shape?.key ?? null);
  }

  /** Stops the worker if one was started. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.close();
  }

  private isLarge(text: string): boolean {
    return text.length > this.threshold / 3 && Buffer.byteLength(text, 'utf8') > this.threshold;
  }

  /** Caches a result (not before the WASM is loaded: those are all `unparsed`). */
  private remember(text: string, c: Classification, shapeKey: string | null): Classification {
    if (!loaded) return c;
    deepFreeze(c);
    this.byText.set(text, c);
    const only = c.statements[0];
    if (shapeKey !== null && !c.unparsed && !c.sensitive && c.statements.length === 1 && only) {
      this.byShape.set(shapeKey, only);
      // The native relay may now prebuild this shape's records (prebuilt.ts).
      shapeCached(shapeKey, only);
    }
    return c;
  }
}

/** A shape hit: the cached statement with this text's own words. */
function fromTemplate(template: ClassifiedStatement, text: string, cut: number): Classification {
  return { statements: [{ ...template, text: statementText(text, [], 0, cut) }], unparsed: false, redacted: text };
}

interface Pending { text: string; resolve: (c: Classification) => void }

/** One worker thread, started on first use, referenced only while it has work (it never holds the process open). */
class ClassifyWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  dead = false;

  constructor() {
    // Built JS runs classify-worker.js beside this file; under tsx (tests) this file is .ts and the
    // worker needs tsx's loader, which it inherits from `node --import tsx` or gets here.
    const ts = import.meta.url.endsWith('.ts');
    const url = new URL(ts ? './classify-worker.ts' : './classify-worker.js', import.meta.url);
    const hasTsx = process.execArgv.some((a) => a.includes('tsx'));
    this.worker = new Worker(url, ts && !hasTsx ? { execArgv: [...process.execArgv, '--import', 'tsx'] } : {});
    this.worker.unref();
    this.worker.on('message', (m: { id: number; result: Classification }) => this.settle(m.id, m.result));
    this.worker.on('error', () => this.fail());
    this.worker.on('exit', () => this.fail());
  }

  classify(text: string): Promise<Classification> {
    if (this.dead) return Promise.resolve(safeClassify(text));
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { text, resolve });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ id, text });
    });
  }

  private settle(id: number, result: Classification): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
    p.resolve(result);
  }

  /** The worker died: finish its work here rather than lose a record. */
  private fail(): void {
    this.dead = true;
    for (const [id, p] of this.pending) this.settle(id, safeClassify(p.text));
  }

  async close(): Promise<void> {
    this.dead = true;
    await this.worker.terminate();
  }
}
