// Runs one notebook in an already running JupyterLab through headless
// Chromium and checks what a user would see: every cell ran, no cell
// failed, and at least one HTML table was rendered.
//
// run_lab_test.py starts the server and calls this; to use it alone:
//   LAB_URL=http://127.0.0.1:8888 LAB_TOKEN=... node lab.mjs [--notebook VHOL.ipynb] [--screenshot out/lab.png]
//
// Where the checks look. The DOM alone cannot tell an error output from
// text printed to stderr: JupyterLab renders both as
// .jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"].
// Saving (Ctrl+S) and reading /api/contents would write the notebook.
// So error outputs are read from JupyterLab's own notebook model, exposed
// as window.jupyterapp (start the server with
// --LabApp.expose_app_in_browser=True): the same JSON a save would write,
// read without writing anything. The DOM is used for what must be seen:
// stderr-styled text holding a Go failure, rendered tables, the screenshot.

import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.LAB_URL },
    token: { type: 'string', default: process.env.LAB_TOKEN },
    notebook: { type: 'string', default: process.env.LAB_NOTEBOOK || 'VHOL.ipynb' },
    screenshot: { type: 'string', default: process.env.LAB_SCREENSHOT || 'out/lab.png' },
    'timeout-ms': { type: 'string', default: process.env.LAB_TIMEOUT_MS || '600000' },
    kernel: { type: 'string', default: process.env.LAB_KERNEL_DISPLAY_NAME || 'Go (goray)' },
  },
});
if (!opts.url || !opts.token) {
  console.error('lab.mjs: give the JupyterLab URL and token (--url/--token or LAB_URL/LAB_TOKEN)');
  process.exit(2);
}
const runTimeoutMs = Number(opts['timeout-ms']);
const screenshotPath = resolve(opts.screenshot);

// A Go failure printed as text: a compile error ("./main.go:12:6: ..."),
// GoNB's "exit status N", a panic, a runtime fatal error, a goroutine dump.
const GO_FAILURE = /(^|\n)\s*(panic: |fatal error: |goroutine \d+ \[)|exit status \d+|\.go:\d+:\d+: |failed to run "/;

const log = (...a) => console.log('[lab.mjs]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs in the page: the NotebookPanel whose path is nbPath.
const findPanelSrc = `(nbPath) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === nbPath && w.content && w.content.model) return w;
  }
  return null;
}`;

async function main() {
  const profile = mkdtempSync(join(tmpdir(), 'goray-chromium-'));
  // A fresh profile every run (Playwright passes it as --user-data-dir).
  let context;
  try {
    context = await launch(profile);
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  let failures = [];
  let page;
  try {
    page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (e) => log('page error:', e.message));
    page.on('console', (m) => { if (m.type() === 'error') log('console error:', m.text()); });
    page.on('response', (r) => {
      if (r.status() >= 400) log(`HTTP ${r.status()} for ${r.url().split('?')[0]}`);
    });

    const url = `${opts.url.replace(/\/$/, '')}/lab/tree/${encodeURI(opts.notebook)}?token=${opts.token}`;
    log('opening', url.replace(opts.token, '<token>'));
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 120_000 });
    await page.waitForFunction(() => window.jupyterapp !== undefined, null, { timeout: 120_000 })
      .catch(() => { throw new Error('window.jupyterapp missing: start JupyterLab with --LabApp.expose_app_in_browser=True'); });
    await page.evaluate(() => window.jupyterapp.restored);
    await page.waitForFunction(`(${findPanelSrc})(${JSON.stringify(opts.notebook)}) !== null`, null, { timeout: 120_000 });
    await page.evaluate(`(async () => {
      const p = (${findPanelSrc})(${JSON.stringify(opts.notebook)});
      await p.context.ready;
    })()`);

    await startKernel(page);
    await runAllFromMenu(page);
    const state = await waitUntilDone(page);
    log(`run finished: ${state.code} code cells, ${state.executed} with an execution count`);
    failures = await check(page, state);
  } catch (e) {
    failures.push(String(e && e.stack || e));
  } finally {
    if (page) {
      try { await screenshot(page); } catch (e) { log('screenshot failed:', e.message); }
    }
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  if (failures.length) {
    console.error('\nFAILED:\n- ' + failures.join('\n- '));
    process.exit(1);
  }
  log('OK');
}

function launch(profile) {
  return chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
    ],
    viewport: { width: 1400, height: 1000 },
  });
}

// The notebook names kernelspec goray, so the kernel normally starts on its
// own; when JupyterLab asks instead, pick the goray kernel in its dialog.
async function startKernel(page) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const dialog = page.locator('.jp-Dialog');
    if (await dialog.count()) {
      const select = dialog.locator('select');
      if (await select.count()) {
        log(`kernel dialog shown: selecting "${opts.kernel}"`);
        await select.selectOption({ label: opts.kernel });
      }
      await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
      continue;
    }
    const info = await page.evaluate(`(async () => {
      const p = (${findPanelSrc})(${JSON.stringify(opts.notebook)});
      const k = p && p.sessionContext.session && p.sessionContext.session.kernel;
      if (!k) return null;
      const answered = await Promise.race([k.info.then(() => true, () => false), new Promise((r) => setTimeout(() => r(false), 250))]);
      return { name: k.name, status: k.status, connection: k.connectionStatus, answered };
    })()`);
    // Ready = connected and kernel_info answered. The status may still read
    // "unknown": JupyterLab ignores status messages about kernel_info, and
    // GoNB does not answer the history_request that gives other kernels
    // their first "idle", so it only becomes "idle" after the first cell.
    if (info && info.connection === 'connected' && info.answered && ['idle', 'unknown'].includes(info.status)) {
      if (info.name !== 'goray') throw new Error(`notebook runs kernel ${info.name}, not goray`);
      log(`kernel goray is ready (status ${info.status})`);
      return;
    }
    await sleep(500);
  }
  throw new Error('the goray kernel did not start within 120 s');
}

// What a user does: Run > Run All Cells in the main menu.
async function runAllFromMenu(page) {
  await page.locator('.jp-NotebookPanel .jp-Notebook').first().click({ position: { x: 5, y: 5 } });
  await page.locator('#jp-MainMenu .lm-MenuBar-item', { hasText: /^Run$/ }).click();
  const item = page.locator('.lm-Menu .lm-Menu-item')
    .filter({ has: page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }) });
  await item.waitFor({ state: 'visible', timeout: 10_000 });
  await item.click();
  log('Run > Run All Cells clicked');
}

// Polls the notebook model until the kernel is idle and no cell is queued
// or running, twice in a row (the kernel is briefly idle between cells).
async function waitUntilDone(page) {
  const start = Date.now();
  let calm = 0;
  let last;
  while (Date.now() - start < runTimeoutMs) {
    last = await page.evaluate(`(() => {
      const p = (${findPanelSrc})(${JSON.stringify(opts.notebook)});
      const k = p.sessionContext.session && p.sessionContext.session.kernel;
      let code = 0, executed = 0, pending = 0;
      const cells = p.content.widgets;
      for (const cell of cells) {
        if (cell.model.type !== 'code') continue;
        code++;
        if (cell.model.executionCount !== null) executed++;
        // JupyterLab marks queued and running cells with the [*] prompt.
        const prompt = cell.node.querySelector('.jp-InputArea-prompt');
        if (prompt && prompt.textContent.includes('*')) pending++;
      }
      return { code, executed, pending, kernel: k ? k.status : 'none' };
    })()`);
    if (last.kernel === 'dead' || last.kernel === 'none') throw new Error(`kernel is ${last.kernel}`);
    if (last.kernel === 'idle' && last.pending === 0) {
      if (++calm >= 2) return last;
    } else {
      calm = 0;
    }
    await sleep(1000);
  }
  throw new Error(`notebook still running after ${runTimeoutMs / 1000} s: ${JSON.stringify(last)}`);
}

async function check(page, state) {
  const failures = [];
  if (state.executed !== state.code) {
    failures.push(`${state.code - state.executed} of ${state.code} code cells never ran (no execution count)`);
  }
  // Outputs as the kernel sent them, from JupyterLab's model: the same
  // JSON a save would write, read without writing anything.
  const cells = await page.evaluate(`(() => {
    const p = (${findPanelSrc})(${JSON.stringify(opts.notebook)});
    const out = [];
    p.content.widgets.forEach((cell, i) => {
      if (cell.model.type !== 'code') return;
      out.push({ index: i, source: cell.model.sharedModel.getSource(), outputs: cell.model.outputs.toJSON() });
    });
    return out;
  })()`);
  const head = (s) => s.split('\n').slice(0, 3).join(' | ').slice(0, 160);
  const textOf = (v) => (Array.isArray(v) ? v.join('') : String(v ?? ''));
  const stripTags = (h) => h.replace(/<style[\s\S]*?<\/style>/g, '').replace(/<[^>]+>/g, '');
  for (const c of cells) {
    for (const o of c.outputs) {
      if (o.output_type === 'error') {
        failures.push(`cell ${c.index} [${head(c.source)}] has an error output: ${o.ename}: ${o.evalue}\n    ${(o.traceback || []).join('\n    ').slice(0, 2000)}`);
      } else if (o.output_type === 'stream' && o.name === 'stderr' && GO_FAILURE.test(textOf(o.text))) {
        failures.push(`cell ${c.index} [${head(c.source)}] printed a Go failure on stderr:\n    ${textOf(o.text).slice(0, 2000)}`);
      } else if (o.data && o.data['text/html'] && /gonb-err-|data-mime-type="application\/vnd\.jupyter\.stderr"/.test(textOf(o.data['text/html']))) {
        // GoNB shows compile errors and panics as HTML next to the error output.
        failures.push(`cell ${c.index} [${head(c.source)}] shows a GoNB error report:\n    ${stripTags(textOf(o.data['text/html'])).trim().slice(0, 2000)}`);
      }
    }
  }
  // What was rendered: stderr-styled text (stream stderr, error outputs and
  // GoNB's HTML error reports all render as .jp-RenderedText with the stderr
  // MIME type) must not hold a Go failure.
  const stderrTexts = await page.locator('.jp-OutputArea [data-mime-type="application/vnd.jupyter.stderr"]').allInnerTexts();
  for (const t of stderrTexts) {
    if (GO_FAILURE.test(t)) failures.push(`rendered stderr output shows a Go failure:\n    ${t.slice(0, 2000)}`);
  }
  // The output widget itself carries jp-RenderedHTMLCommon; scoping to the
  // output area leaves tables in markdown cells out.
  const tables = await page.locator('.jp-OutputArea .jp-RenderedHTMLCommon table').count();
  // An image the notebook shows that did not load (a path outside
  // JupyterLab's root folder, an attachment type JupyterLab cannot render).
  const broken = await page.evaluate(() => [...document.querySelectorAll('.jp-Notebook img')]
    .filter((img) => img.complete && img.naturalWidth === 0).map((img) => (img.getAttribute('src') || '').split('?')[0]));
  for (const src of broken) failures.push(`image did not load: ${src || '(empty src)'}`);
  const loaded = await page.evaluate(() => [...document.querySelectorAll('.jp-Notebook img')]
    .filter((img) => img.complete && img.naturalWidth > 0).length);
  log(`images shown: ${loaded}`);
  log(`rendered HTML tables in outputs: ${tables}`);
  if (tables === 0) failures.push('no HTML table was rendered in any cell output');
  return [...new Set(failures)];
}

// JupyterLab scrolls inside a fixed-size page, so a full-page screenshot
// only shows the window: hide the side panels, grow the viewport to the
// notebook's height and scroll the notebook back to its top first.
async function screenshot(page) {
  const scroller = '.jp-NotebookPanel .jp-WindowedPanel-outer';
  const height = await page.evaluate((sel) => {
    const app = window.jupyterapp;
    if (app && app.shell.collapseLeft) { app.shell.collapseLeft(); app.shell.collapseRight(); }
    const nb = document.querySelector(sel);
    return nb ? nb.scrollHeight : 0;
  }, scroller).catch(() => 0);
  const vp = page.viewportSize();
  if (height > vp.height - 150) {
    await page.setViewportSize({ width: vp.width, height: Math.min(height + 200, 30000) });
  }
  await page.evaluate((sel) => { const nb = document.querySelector(sel); if (nb) nb.scrollTop = 0; }, scroller).catch(() => {});
  await sleep(1000);
  mkdirSync(dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true });
  log('screenshot saved to', screenshotPath);
}

main().catch((e) => { console.error(e); process.exit(1); });
