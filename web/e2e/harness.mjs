// The browser tests' harness: a real `amparo dev` on a temporary data
// directory and a free port, and Debian's Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';
import assert from 'node:assert/strict';

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

// The catalogs, to tell Spanish left in the English console.
const catalog = (lng) => JSON.parse(readFileSync(new URL(`../src/i18n/${lng}.json`, import.meta.url), 'utf8'));
const flatten = (o, p = '') => Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? flatten(v, p + k + '.') : [[p + k, String(v)]]));
const es = catalog('es');
const enTexts = new Map(flatten(catalog('en')));
// Spanish texts of the console that English says otherwise, cut at their
// {{placeholders}}: none may show on an English page.
const spanishTexts = [...new Set(flatten(es).filter(([k, v]) => enTexts.get(k) !== v)
  .flatMap(([, v]) => v.split(/\{\{[^}]*\}\}/)).map((f) => f.trim()).filter((f) => f.length >= 8 && f.includes(' ')))];
const rawKey = new RegExp(`\\b(?:${Object.keys(es).join('|')})\\.[A-Za-z_]+[A-Za-z_.]*`, 'g');

/**
 * checkEnglish is check, and the page in English: no text of the Spanish
 * catalog, no catalog key shown raw (a missing translation), no Spanish
 * letter but in data, the list of texts that are not the console's own
 * (names of people and places, what a person wrote).
 */
export async function checkEnglish(page, name, data = []) {
  await check(page, name);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en', `${name}: the page says it is in English`);
  let text = await page.evaluate(() => document.body.innerText);
  for (const d of [...data].sort((a, b) => b.length - a.length)) text = text.split(d).join(' ');
  text = text.replace(/\S+@\S+/g, ' ');
  const problems = [
    ...spanishTexts.filter((f) => text.includes(f)).map((f) => `Spanish text: ${f}`),
    ...(text.match(rawKey) ?? []).map((k) => `raw key: ${k}`),
    ...(text.match(/\S*[áéíóúñ¿¡]\S*/gi) ?? []).filter((w) => w !== 'Español').map((w) => `Spanish word: ${w}`),
  ];
  assert.deepEqual(problems, [], `${name} in English`);
}
