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
  /** The cached statement (its `text` is the first text of the shape's: never written). */
  st: ClassifiedStatement;
  /** The class as `audit.log` names it. */
  className: AuditClassName;
  /** `"class":…,"command":…,"objects":[…]` as the JSON record has them. */
  part: string;
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
    st,
    className: st.class.toLowerCase() as AuditClassName,
    part: `"class":${JSON.stringify(st.class)},"command":${JSON.stringify(st.command)},"objects":${JSON.stringify(st.objects)}`,
  });
  if (!listener(key, templates.length)) listener = null;
}
