/**
 * The shape templates behind prebuilt statement records (issue 6, native/fastrec.h). When the
 * classifier caches a statement by its shape (classify.ts), the shape is registered here and,
 * through a listener, with the native relay. A mirrored session's Query of a registered shape
 * then reaches its tap as one prebuilt entry naming the template by id, with the statement text
 * already rebuilt and JSON-quoted (src/audit/tap.ts `prebuilt`), and the record written from it is
 * the one the tap would have written from the Query, CommandComplete and ReadyForQuery.
 *
 * Ids are never reused and templates never evicted (at most MAX_TEMPLATES): an entry in flight may
 * name any id handed out.
 */
import type { AuditClassName, ClassifiedStatement } from './types.js';

/** As native/fastrec.h FAST_MAX_SHAPES. */
const MAX_TEMPLATES = 4096;

export interface Template {
  /** Its id (native/fastrec.h entries name it). */
  id: number;
  /** The cached statement (its `text` is the first text of the shape's: never written). */
  st: ClassifiedStatement;
  /** The class as `audit.log` names it. */
  className: AuditClassName;
  /** `"class":…,"command":…,"objects":[…]` as the JSON record has them. */
  part: string;
  /** The line builder it is registered with (native/auditline.h), which can then write its records' lines. */
  lined: LineBuilder | null;
}

/**
 * Writes prebuilt records' chained JSON lines, a hand-over's at once (native/auditline.h, through
 * src/session/native-relay.ts): the lines prebuiltStatementJson() and Chain.appendJson() would
 * write. src/audit/log.ts uses it when every sink takes JSON.
 */
export interface LineBuilder {
  /** Registers a template's part; false when it cannot (the writer then writes its records itself). */
  part(id: number, part: Buffer): boolean;
  /**
   * The lines of `count` records and the last one's hash. `nums` holds
   * LINE_STRIDE numbers a record: its entry's offset and length in `entries`, statement id,
   * duration in ms, rows (-1: none), index into `sessions` (sessionPart() texts). `seq` is the first
   * record's, `prev` the hash before it, `time` the ISO time of all. Throws when it cannot.
   */
  lines(entries: ArrayBufferLike, nums: Float64Array, count: number, sessions: string[], seq: number, prev: string, time: string, key?: Buffer): [string[], string];
}

/** As native/auditline.h LINE_STRIDE. */
export const LINE_STRIDE = 6;

let builder: LineBuilder | null = null;

/** Where prebuilt records' lines can be built natively (null: nowhere, the writer builds them). */
export function onLineBuilder(b: LineBuilder | null): void {
  builder = b;
}

export function lineBuilder(): LineBuilder | null {
  return builder;
}

const templates: Template[] = [];
/** The shapes announced (a shape the classifier's cache evicted and learned again is not a new template). */
const announced = new Set<string>();
let listener: ((key: string, id: number) => boolean) | null = null;

/** The template with this id (from a prebuilt entry), or undefined. */
export function templateOf(id: number): Template | undefined {
  return templates[id - 1];
}

/**
 * A prebuilt entry's message (native/fastrec.h): 'R', int32 length, u32 template id (LE) at 5,
 * f64 the CommandComplete's read time, u32 its length (LE) at 17, the CommandComplete at
 * {@link ENTRY_COMMAND_COMPLETE}, then the statement text as a JSON string.
 */
export const ENTRY_COMMAND_COMPLETE = 21;

/** The template an entry names. */
export function entryTemplate(m: Buffer): Template | undefined {
  return templateOf(m.readUInt32LE(5));
}

/** The length of an entry's CommandComplete message. */
export function entryCommandCompleteLength(m: Buffer): number {
  return m.readUInt32LE(17);
}

/** Where an entry's statement text (its JSON string) starts. */
export function entryTextAt(m: Buffer): number {
  return ENTRY_COMMAND_COMPLETE + entryCommandCompleteLength(m);
}

/**
 * Where new shapes are announced (the native relay's table); null stops. `register` returns false
 * when it takes no more.
 */
export function onShape(register: ((key: string, id: number) => boolean) | null): void {
  listener = register;
}

/** What the relay lexes: printable ASCII and tab..CR (native/shape.h), up to 4 KB (native/fastrec.h FAST_MAX_TEXT). */
const RELAY_TEXT = /^[\t-\r -~]{0,4096}$/;

/** A shape the classifier cached, with its statement. */
export function shapeCached(key: string, st: ClassifiedStatement): void {
  if (!listener || templates.length >= MAX_TEMPLATES || announced.has(key) || !RELAY_TEXT.test(key)) return;
  announced.add(key);
  templates.push({
    id: templates.length + 1,
    lined: null,
    st,
    className: st.class.toLowerCase() as AuditClassName,
    part: `"class":${JSON.stringify(st.class)},"command":${JSON.stringify(st.command)},"objects":${JSON.stringify(st.objects)}`,
  });
  if (!listener(key, templates.length)) listener = null;
}
