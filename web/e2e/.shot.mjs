import { launch, signIn, check } from './harness.mjs';
const url = 'http://127.0.0.1:18555';
const [who, path, name, width] = process.argv.slice(2);
const b = await launch();
const ctx = await b.newContext({ viewport: { width: Number(width ?? 390), height: 844 }, locale: 'es-GT' });
const page = await ctx.newPage();
await signIn(page, url, who);
await page.goto(url + path);
await page.waitForLoadState('networkidle');
await page.waitForTimeout(500);
await page.screenshot({ path: `/tmp/${name}.png`, fullPage: true });
try { await check(page, name); console.log('axe ok'); } catch (e) { console.log(String(e)); }
await b.close();
