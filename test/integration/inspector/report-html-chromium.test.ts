/**
 * The HTML report renders in a real browser: Debian's headless `chromium` parses it (--dump-dom
 * holds every finding id, the hostile role name as text and no script element) and paints it
 * (--screenshot gives a PNG of the window size, far larger than a blank page's ~8 KB).
 *
 * Skipped, with the reason, when chromium is not installed (`apt-get install -y chromium`; .ci/run
 * installs it).
 *
 * docs/audit-report.png is the weak fixture copied to /etc/postgresql/18/main, audited with
 * `gatehouse audit --conf …/postgresql.conf --hba …/pg_hba.conf --format html`, and shot the same
 * way with --window-size=1200,1500.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { render } from '../../../src/inspector/report/index.js';
import { run } from '../../harness/pg-process.js';
import { EVIL_ROLE, richReport } from '../../unit/inspector/report-sample.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const skip = CHROMIUM ? false : 'chromium is not installed (apt-get install -y chromium; .ci/run installs it)';

const dir = mkdtempSync(join(tmpdir(), 'gh-report-html-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const report = richReport();
const page = join(dir, 'report.html');
writeFileSync(page, render('html', report, { color: false }));

/** Headless chromium as root (hence --no-sandbox), its own profile, nothing but the page. */
function chromium(args: string[]): ReturnType<typeof run> {
  return run(CHROMIUM!, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--hide-scrollbars',
    `--user-data-dir=${join(dir, 'profile')}`, ...args, pathToFileURL(page).href,
  ], { timeoutMs: 90_000 });
}

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(png.subarray(12, 16).toString('latin1'), 'IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('HTML report in headless Chromium', { skip }, () => {
  test('--dump-dom: the parsed page holds every finding, the fixes, and the hostile role only as text', async () => {
    const r = await chromium(['--dump-dom']);
    assert.equal(r.code, 0, r.stderr);
    const dom = r.stdout;
    for (const f of report.result.findings) assert.ok(dom.includes(`<span class="fid">${f.id}</span>`), `${f.id} rendered`);
    assert.equal(dom.match(/<article class="finding /g)?.length, report.result.findings.length);
    assert.ok(dom.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(!dom.includes(EVIL_ROLE));
    assert.doesNotMatch(dom, /<script/i);
    assert.match(dom, /<pre class="fix">Replace the line with: hostssl all all 10\.0\.0\.0\/8 scram-sha-256<\/pre>/);
    assert.match(dom, /<h2>Skipped checks<\/h2>/);
  });

  test('--screenshot: a PNG of the window, with content', async () => {
    const shot = join(dir, 'report.png');
    const r = await chromium([`--screenshot=${shot}`, '--window-size=1280,2000']);
    assert.equal(r.code, 0, r.stderr);
    const png = readFileSync(shot);
    assert.deepEqual(pngSize(png), { width: 1280, height: 2000 });
    // A blank 1280x2000 page is about 8 KB; this one has text, badges and tables in colour.
    assert.ok(statSync(shot).size > 40_000, `screenshot is ${statSync(shot).size} bytes`);
  });
});
