// The browser tests' harness: a real `amparo dev` on a temporary data
// directory and a free port, and Debian's Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

/** startAmparo runs `amparo dev` (AMPARO_BIN) until stop() and resolves once it serves. */
export async function startAmparo() {
  const bin = process.env.AMPARO_BIN;
  if (!bin) throw new Error('AMPARO_BIN: the amparo binary to test (make test builds it)');
  const dir = mkdtempSync(join(tmpdir(), 'amparo-e2e-'));
  const port = await freePort();
  const child = spawn(bin, ['dev', '--data-dir', dir, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (b) => { log += b; });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('amparo dev did not start in 120 s:\n' + log.slice(-3000))), 120_000);
    child.stdout.on('data', (b) => {
      const m = /Amparo is running: (http:\/\/[^/\s]+)/.exec(String(b));
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`amparo dev exited ${code}:\n${log.slice(-3000)}`)); });
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([done, new Promise((r) => setTimeout(r, 20_000))]);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launch() {
  // launch() gives every run a fresh, temporary user-data-dir.
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** token mints a dev token through the console's own endpoint. */
export async function token(url, email) {
  const r = await fetch(`${url}/dev/token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email }) });
  if (!r.ok) throw new Error(`dev token ${r.status}`);
  return (await r.json()).token;
}

export async function gql(url, tok, query, variables = {}) {
  const r = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tok}` }, body: JSON.stringify({ query, variables }) });
  const body = await r.json();
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

export async function signIn(page, url, name) {
  await page.goto(`${url}/ingresar`);
  await page.getByRole('button', { name: new RegExp(name) }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/ingresar') && u.pathname !== '/');
}

/**
 * check runs axe on the page and fails on any serious or critical finding;
 * with SCREENSHOTS=DIR it also saves a screenshot named name.
 */
export async function check(page, name) {
  await page.waitForLoadState('networkidle').catch(() => undefined);
  const res = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    throw new Error(`axe on ${name}: ` + bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`).join('; '));
  }
  const dir = process.env.SCREENSHOTS;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, `${name}.png`), fullPage: false });
  }
}
