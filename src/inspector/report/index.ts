/**
 * One entry point for every report format: `render(format, report, options)`. The CLI builds the
 * {@link AuditReport} (context + check result) once and asks for the format the user chose.
 */
import { renderHtml } from './html.js';
import { renderJson } from './json.js';
import { renderMarkdown } from './markdown.js';
import { renderSarif } from './sarif.js';
import { renderText } from './text.js';
import type { AuditReport } from './common.js';

export type { AuditReport } from './common.js';
export { countBySeverity } from './common.js';

export const REPORT_FORMATS = ['text', 'json', 'sarif', 'markdown', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface RenderOptions {
  /** ANSI colour in the text format (pass whether stdout is a TTY); ignored by the others. */
  color: boolean;
  /** SARIF: the directory file locations are relative to (default: the working directory). */
  baseDir?: string;
}

export function render(format: ReportFormat, report: AuditReport, opts: RenderOptions): string {
  switch (format) {
    case 'text': return renderText(report, { color: opts.color });
    case 'json': return renderJson(report);
    case 'sarif': return renderSarif(report, opts.baseDir === undefined ? {} : { baseDir: opts.baseDir });
    case 'markdown': return renderMarkdown(report);
    case 'html': return renderHtml(report);
  }
}
