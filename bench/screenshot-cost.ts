/**
 * What a screenshot adds to the browser suite's check of a page (axe-core), measured on the
 * broker's own pages (the first 12 samples of broker/src/views/samples.ts, en and cy) in Debian's
 * Chromium: axe alone, a full-page PNG screenshot alone, and both as checkPage does them. The modes
 * are interleaved page by page, so a busy machine slows each of them alike. Prints medians (ms).
 * (Taking the screenshot and running axe at once was tried: no faster, both wait on the renderer.)
 *
 *   npx tsx --conditions=@idbroker/source bench/screenshot-cost.ts [rounds]
 */
import Koa from 'koa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createViews } from '../broker/src/views/index.js';
import { samples } from '../broker/src/views/samples.js';
import { freePort } from '../test/support/ports.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const rounds = Number(process.argv[2] ?? 3);
// As the browser suite does (test/browser/chromium.ts, which needs vitest to load).
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
async function axe(p: Page): Promise<unknown> {
  if (!(await p.evaluate(() => 'axe' in window))) await p.evaluate(axeSource);
  return p.evaluate(() => (window as unknown as { axe: { run(d: unknown, o: unknown): Promise<unknown> } }).axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } }));
}
const views = createViews({ strict: true });
const app = new Koa();
app.use(views.assets);
app.use((ctx) => {
  const sample = samples.find(([name]) => ctx.path === `/${name}`);
  if (sample) views.render(ctx, sample[1], sample[2] as never, { locale: ctx.query.lang === 'cy' ? 'cy' : 'en' });
});
const port = await freePort();
const server = app.listen(port, '127.0.0.1');
const dir = mkdtempSync(join(tmpdir(), 'shots-'));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--headless=new', '--disable-gpu', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])] });
const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1024, height: 900 } });
const page = await context.newPage();

let n = 0;
const shot = (p: Page) => p.screenshot({ path: join(dir, `${++n}.png`), fullPage: true });
const modes: Record<string, (p: Page) => Promise<unknown>> = {
  axe: (p) => axe(p),
  'full-page screenshot': (p) => shot(p),
  // What checkPage does for every page state (test/browser/chromium.ts).
  'screenshot then axe': async (p) => {
    await shot(p);
    await axe(p);
  },
};
const times: Record<string, number[]> = Object.fromEntries(Object.keys(modes).map((m) => [m, []]));
const pages = samples.map(([name]) => name).slice(0, 12);
for (let r = 0; r < rounds; r++) {
  for (const name of pages) {
    for (const lang of ['en', 'cy']) {
      for (const [mode, run] of Object.entries(modes)) {
        await page.goto(`http://127.0.0.1:${port}/${name}?lang=${lang}`);
        const t0 = performance.now();
        await run(page);
        times[mode]!.push(performance.now() - t0);
      }
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [mode, xs] of Object.entries(times)) console.log(`${mode.padEnd(20)} median ${median(xs).toFixed(0)} ms over ${xs.length} page states`);
await browser.close();
server.close();
rmSync(dir, { recursive: true, force: true });
