// What people do with the console, in a real browser against `amparo dev`.
// Each test is one person's main path, on a phone-sized window unless it
// says otherwise, with an accessibility scan (axe) of every screen it opens.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DESKTOP, PHONE, check, checkEnglish, gql, launch, signIn, startAmparo, token } from './harness.mjs';

let amparo, browser;
before(async () => { [amparo, browser] = await Promise.all([startAmparo(), launch()]); });
after(async () => { await browser?.close(); await amparo?.stop(); });

const newPage = async (viewport = PHONE) => {
  const ctx = await browser.newContext({ viewport, locale: 'es-GT' });
  return { ctx, page: await ctx.newPage() };
};

async function fillComplaint(page, description) {
  await page.locator('details.category summary').first().click();
  await page.locator('details.category input[type=checkbox]').first().check();
  await page.getByLabel('Qué pasó').fill(description);
  await page.getByRole('button', { name: 'Continuar' }).click();
  await page.getByLabel('Anónima').check();
  await page.getByLabel('En persona').check();
  await page.getByRole('button', { name: 'Continuar' }).click();
  await page.getByRole('heading', { name: 'Nueva denuncia' }).waitFor();
}


const FILE_CASE = `mutation($input: FileCaseInput!) { fileCase(input: $input) { case { id reference version } possibleDuplicates } }`;

/** fileCase opens a case through the API as email, for tests that start from one. */
async function fileCase(email, extra = {}) {
  const tok = await token(amparo.url, email);
  const input = {
    idempotencyKey: crypto.randomUUID(), urgency: 'HIGH', departmentCode: 'GT-13', summary: 'Adolescente separado en la frontera.',
    child: { sex: 'MALE', ageYears: 15, nationality: 'SLV', populationStatus: 'MIGRANT_TRANSIT', careStatus: 'SEPARATED' },
    violations: [{ type: 'SEPARATION_SEPARATED' }], ...extra,
  };
  return (await gql(amparo.url, tok, FILE_CASE, { input })).fileCase.case;
}

/** queueCase opens a case that waits unassigned in PGN's queue: a complaint linked to a new case. */
async function queueCase() {
  const tok = await token(amparo.url, 'officer@pgn.demo');
  const k = await gql(amparo.url, tok, 'mutation($input: SubmitComplaintInput!) { submitComplaint(input: $input) { complaint { id } } }', { input: {
    idempotencyKey: crypto.randomUUID(), complainant: { kind: 'ANONYMOUS' }, channel: 'IN_PERSON', description: 'Niña sola en la garita.', violations: ['TRAFFICKING'] } });
  const newCase = { idempotencyKey: crypto.randomUUID(), urgency: 'HIGH', departmentCode: 'GT-13', summary: 'Niña sola en la garita.',
    child: { sex: 'FEMALE', ageYears: 12, nationality: 'HND', populationStatus: 'MIGRANT_TRANSIT', careStatus: 'UNACCOMPANIED' }, violations: [{ type: 'TRAFFICKING' }] };
  const l = await gql(amparo.url, tok, 'mutation($input: LinkComplaintToCaseInput!) { linkComplaintToCase(input: $input) { complaint { case { id reference } } } }',
    { input: { complaintId: k.submitComplaint.complaint.id, newCase } });
  return l.linkComplaintToCase.complaint.case;
}

/**
 * keepCaseOffline signs an officer in, fills a case form with summary, and
 * sends it without a connection: it is kept in the outbox, still offline.
 * filings collects the FileCase requests the page makes.
 */
async function keepCaseOffline(summary) {
  const { ctx, page } = await newPage();
  const filings = [];
  ctx.on('response', (r) => { if (r.url().endsWith('/graphql') && (r.request().postData() ?? '').includes('mutation FileCase')) filings.push(r); });
  await signIn(page, amparo.url, 'Oficial PGN');
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  await page.getByRole('link', { name: 'Nueva ficha de caso' }).first().click();
  await page.getByLabel('Departamento').selectOption('GT-13');
  await ctx.setOffline(true);
  await page.getByLabel('Edad en años').fill('16');
  await page.getByLabel('Masculino').check();
  await page.getByLabel('Nacionalidad').selectOption('GTM');
  await page.getByLabel('Situación migratoria').selectOption('RETURNEE');
  await page.getByLabel('Separada/o').check();
  await page.getByLabel('Tipo de vulneración').selectOption({ index: 2 });
  await page.getByLabel('Media', { exact: true }).check();
  await page.getByLabel('Resumen del caso').fill(summary);
  await page.getByRole('button', { name: 'Abrir el caso' }).click();
  await page.getByLabel('Clave de resguardo').fill('oficina-huehue-2026');
  await page.getByRole('button', { name: 'Guardar cifrada en este dispositivo' }).click();
  await page.getByRole('heading', { name: 'Ficha guardada en este dispositivo' }).waitFor();
  return { ctx, page, filings };
}

describe('console', () => {
  test('intake submits a complaint and the complainant reads its status', async () => {
    const { ctx, page } = await newPage();
    await page.goto(`${amparo.url}/ingresar`);
    await page.getByRole('button', { name: /Recepción IGM/ }).waitFor();
    await check(page, 'sign-in');
    await signIn(page, amparo.url, 'Recepción IGM');
    assert.equal(new URL(page.url()).pathname, '/denuncias/nueva');
    await check(page, 'intake-step-1');
    // The first step refuses to go on without what happened.
    await page.getByRole('button', { name: 'Continuar' }).click();
    await page.getByRole('alert').getByRole('link', { name: 'Describa lo que pasó' }).waitFor();
    await check(page, 'intake-errors');
    await fillComplaint(page, 'Niño retenido en la garita, relato de la madre.');
    await check(page, 'intake-review');
    await page.getByRole('button', { name: 'Enviar la denuncia' }).click();
    const code = (await page.getByTestId('tracking-code').textContent()).trim();
    assert.ok(code.length >= 6, `tracking code ${code}`);
    await page.getByRole('img', { name: /Código QR/ }).waitFor();
    await check(page, 'intake-tracking-code');
    // What happened to what the post submitted.
    await page.getByRole('link', { name: 'Denuncias', exact: true }).click();
    await page.getByRole('cell', { name: 'Recibida' }).first().waitFor();
    await check(page, 'intake-complaints');

    // The complainant, on their own phone, without an account.
    const other = await newPage();
    await other.page.goto(`${amparo.url}/seguimiento?codigo=${encodeURIComponent(code)}`);
    await other.page.getByTestId('complaint-status').getByText('Recibida').waitFor();
    await check(other.page, 'tracking-status');
    await other.page.getByLabel('Código de seguimiento').fill('ZZZZ-ZZZZ-ZZ');
    await other.page.getByRole('button', { name: 'Consultar' }).click();
    await other.page.getByText('No encontramos una denuncia con ese código').waitFor();
    await other.ctx.close();
    await ctx.close();
  });

  test('intake submits a complaint offline and it is sent once', async () => {
    const { ctx, page } = await newPage();
    const submissions = [];
    // Submissions that reached the server (a try cut by the network is no send).
    ctx.on('response', (r) => { if (r.url().endsWith('/graphql') && (r.request().postData() ?? '').includes('SubmitComplaint')) submissions.push(r); });
    await signIn(page, amparo.url, 'Recepción IGM');
    // The service worker has the app shell before the connection goes.
    await page.evaluate(async () => { await navigator.serviceWorker.ready; });
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 10_000 }).catch(async () => { await page.reload(); });

    const description = `Niña sola en el río Suchiate ${Date.now()}`;
    await ctx.setOffline(true);
    await fillComplaint(page, description);
    await page.getByRole('button', { name: 'Enviar la denuncia' }).click();
    await page.getByRole('heading', { name: 'Sin conexión' }).waitFor();
    await check(page, 'intake-offline-passphrase');
    await page.getByLabel('Clave de resguardo').fill('puesto-tecun-2026');
    await page.getByRole('button', { name: 'Guardar cifrada en este dispositivo' }).click();
    await page.getByRole('heading', { name: 'Denuncia guardada en este dispositivo' }).waitFor();
    await page.getByText('1 denuncia pendiente de envío.').waitFor();
    await check(page, 'intake-pending');
    // What is on the device is ciphertext: the description is not in it.
    const stored = await page.evaluate(() => new Promise((resolve) => {
      const req = indexedDB.open('amparo-outbox');
      req.onsuccess = () => {
        const all = req.result.transaction('entries').objectStore('entries').getAll();
        all.onsuccess = () => resolve(all.result.map((e) => ({ key: e.idempotencyKey, text: new TextDecoder().decode(e.data) })));
      };
    }));
    assert.equal(stored.length, 1);
    assert.ok(!stored[0].text.includes('Suchiate'), 'the outbox holds the complaint in clear');

    // The tab is closed; another opens, still offline: the shell comes from
    // the service worker and says something is pending.
    await page.close();
    const again = await ctx.newPage();
    await again.goto(`${amparo.url}/`);
    await again.getByText('Hay 1 denuncia pendiente de envío en este dispositivo').waitFor();
    assert.equal(submissions.length, 0, 'nothing was sent without a connection');

    // The connection returns: sign in, unlock, and it is sent, once.
    await ctx.setOffline(false);
    await signIn(again, amparo.url, 'Recepción IGM');
    await again.getByLabel('Clave de resguardo').fill('puesto-tecun-2026');
    await again.getByRole('button', { name: 'Desbloquear y enviar' }).click();
    await again.getByText('ya fue enviada y recibida').waitFor();
    await again.getByTestId('tracking-code').waitFor();
    await again.reload();
    await again.getByRole('heading', { name: 'Nueva denuncia' }).waitFor();
    await again.waitForTimeout(500);
    assert.equal(await again.getByText('pendiente de envío').count(), 0, 'the outbox is empty once acknowledged');
    assert.equal(submissions.length, 1, 'sent exactly once');
    const left = await again.evaluate(() => new Promise((resolve) => {
      const req = indexedDB.open('amparo-outbox');
      req.onsuccess = () => { const all = req.result.transaction('entries').objectStore('entries').count(); all.onsuccess = () => resolve(all.result); };
    }));
    assert.equal(left, 0, 'erased from the device');
    const data = await gql(amparo.url, await token(amparo.url, 'intake@igm.demo'), '{ complaints(first: 100) { edges { node { description } } } }');
    assert.equal(data.complaints.edges.filter((e) => e.node.description === description).length, 1, 'one complaint on the server');
    await ctx.close();
  });

  test('intake keeps a complaint while offline and it goes by itself when the connection returns', async () => {
    const { ctx, page } = await newPage();
    const submissions = [];
    // Submissions that reached the server (a try cut by the network is no send).
    ctx.on('response', (r) => { if (r.url().endsWith('/graphql') && (r.request().postData() ?? '').includes('SubmitComplaint')) submissions.push(r); });
    await signIn(page, amparo.url, 'Recepción IGM');
    await page.locator('details.category summary').first().waitFor();
    await page.evaluate(async () => { await navigator.serviceWorker.ready; });
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 10_000 }).catch(async () => { await page.reload(); });
    await ctx.setOffline(true);
    // Even a form opened without a connection offers every choice.
    await page.reload();
    await page.locator('details.category summary').first().waitFor();
    const description = `Adolescente retornado sin familia ${Date.now()}`;
    await fillComplaint(page, description);
    await page.getByRole('button', { name: 'Enviar la denuncia' }).click();
    await page.getByLabel('Clave de resguardo').fill('garita-el-carmen');
    await page.getByRole('button', { name: 'Guardar cifrada en este dispositivo' }).click();
    await page.getByText('1 denuncia pendiente de envío.').waitFor();
    await ctx.setOffline(false);
    await page.getByText('ya fue enviada y recibida').waitFor();
    await page.getByTestId('tracking-code').waitFor();
    assert.equal(submissions.length, 1, 'sent exactly once');
    const data = await gql(amparo.url, await token(amparo.url, 'intake@igm.demo'), '{ complaints(first: 100) { edges { node { description } } } }');
    assert.equal(data.complaints.edges.filter((e) => e.node.description === description).length, 1, 'one complaint on the server');
    await ctx.close();
  });

  test('officer files a case and adds a note', async () => {
    const { ctx, page } = await newPage();
    await signIn(page, amparo.url, 'Oficial PGN');
    await page.getByRole('heading', { name: 'Mis casos' }).waitFor();
    await check(page, 'officer-cases-empty');
    // A child already on file under the same name and birth year.
    const earlier = await fileCase('officer@pgn.demo', { child: { givenName: 'Ana Lucía', familyName: 'Pérez', dateOfBirth: '2014-07-01',
      sex: 'FEMALE', nationality: 'HND', populationStatus: 'MIGRANT_TRANSIT', careStatus: 'UNACCOMPANIED' } });
    await page.getByRole('link', { name: 'Nueva ficha de caso' }).first().click();
    await page.getByRole('heading', { name: 'Nueva ficha de caso' }).waitFor();
    await check(page, 'file-case');
    // Sent empty: the summary at the top links to each field.
    await page.getByRole('button', { name: 'Abrir el caso' }).click();
    await page.getByRole('alert').getByRole('link', { name: 'Elija el sexo' }).click();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-child-sex');
    await check(page, 'file-case-errors');

    await page.getByLabel('Nombres').fill('Ana Lucía');
    await page.getByLabel('Apellidos').fill('Pérez');
    await page.getByLabel('Fecha de nacimiento').fill('2014-03-09');
    await page.getByLabel('Femenino').check();
    await page.getByLabel('Nacionalidad').selectOption('HND');
    await page.getByLabel('Situación migratoria').selectOption('MIGRANT_TRANSIT');
    await page.getByLabel('No acompañada/o').check();
    await page.getByLabel('Tipo de vulneración').selectOption({ index: 1 });
    // Before her birth: only the server knows, and says so at the field.
    await page.getByLabel('Fecha en que ocurrió').fill('2013-01-01');
    await page.getByLabel('Departamento').selectOption('GT-13');
    await page.getByLabel('Alta').check();
    await page.getByLabel('Resumen del caso').fill('Niña no acompañada identificada en La Mesilla.');
    await page.getByRole('button', { name: 'Abrir el caso' }).click();
    const fieldError = page.locator('#f-violations-0-occurredOn-error');
    await fieldError.waitFor();
    assert.match(await fieldError.textContent(), /nacimiento/);
    await page.getByRole('alert').getByRole('link', { name: /nacimiento/ }).waitFor();
    await page.getByLabel('Fecha en que ocurrió').fill('2026-11-20');
    await page.getByRole('button', { name: 'Abrir el caso' }).click();
    await page.getByText(/Caso PGN-\d{4}-\d+ abierto/).waitFor();
    // The server points out the earlier case: its reference, never the child.
    await page.getByRole('alert').filter({ hasText: 'Posible duplicado' }).getByRole('link', { name: earlier.reference }).waitFor();
    await check(page, 'case-page');

    await page.getByLabel('Nueva nota').fill('Primer contacto con la niña en el albergue.');
    await page.getByRole('button', { name: 'Agregar nota' }).click();
    await page.getByText('Primer contacto con la niña en el albergue.', { exact: true }).waitFor();

    // Evidence, with progress, then its download link is asked for.
    await page.getByLabel('Elegir archivo').setInputFiles({ name: 'acta.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% acta de entrevista\n%%EOF\n') });
    await page.getByRole('button', { name: 'Subir evidencia' }).click();
    await page.getByText('acta.pdf guardado.').waitFor();
    const download = page.waitForRequest((r) => r.url().includes('X-Amz-Signature'));
    await page.getByRole('button', { name: 'Descargar acta.pdf' }).click();
    await download;


    // The identity is behind an action that says it is audited.
    await page.getByText('queda registrado en la bitácora de auditoría').waitFor();
    await page.getByRole('button', { name: /Mostrar identidad/ }).click();
    await page.getByText('Ana Lucía').waitFor();

    await page.getByRole('link', { name: 'Casos', exact: true }).click();
    await page.getByRole('link', { name: /PGN-\d{4}-\d+/ }).first().waitFor();
    await check(page, 'officer-cases');
    await ctx.close();
  });

  test('oversight filters the audit trail and reveals an identity with a justification', async () => {
    const { ctx, page } = await newPage(DESKTOP);
    await signIn(page, amparo.url, 'Supervisión PDH');
    await page.getByRole('link', { name: 'Bitácora de auditoría' }).click();
    await page.getByRole('heading', { name: 'Bitácora de auditoría' }).waitFor();
    await page.getByLabel('Acción', { exact: true }).fill('case:file');
    await page.getByRole('button', { name: 'Filtrar' }).click();
    await page.getByRole('cell', { name: 'case:file' }).first().waitFor();
    await check(page, 'audit-trail');

    await page.getByRole('link', { name: 'Casos', exact: true }).click();
    await page.getByRole('link', { name: /PGN-\d{4}-\d+/ }).first().click();
    await page.getByRole('heading', { name: 'Revelar identidad' }).waitFor();
    await page.getByRole('button', { name: 'Revelar identidad' }).click();
    await page.getByRole('alert').getByText('al menos 20 caracteres').waitFor();
    await page.getByLabel('Justificación').fill('Investigación de oficio por denuncia de trata, expediente PDH-123.');
    await page.getByRole('button', { name: 'Revelar identidad' }).click();
    await page.getByText('Ana Lucía').waitFor();
    await check(page, 'oversight-reveal');
    await ctx.close();
  });

  test('admin lists the users and sees nothing of any case', async () => {
    const { ctx, page } = await newPage();
    await signIn(page, amparo.url, 'Administración');
    await page.getByRole('heading', { name: 'Usuarios' }).waitFor();
    await page.getByRole('cell', { name: 'officer@pgn.demo' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Casos', exact: true }).count(), 0);
    await check(page, 'admin-users');
    await ctx.close();
  });

  test('a person signs out and the session is gone', async () => {
    const { ctx, page } = await newPage();
    await signIn(page, amparo.url, 'Oficial PGN');
    await page.getByRole('link', { name: /PGN-\d{4}-\d+/ }).first().click();
    await page.getByRole('heading', { name: /Caso PGN/ }).waitFor();
    assert.ok(await page.evaluate(() => sessionStorage.length > 0));
    await page.getByRole('button', { name: 'Cerrar sesión' }).click();
    await page.waitForURL(/\/ingresar$/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the session storage is empty');
    // What may stay is public: the language chosen and the reference data.
    const kept = await page.evaluate(() => Object.keys(localStorage));
    assert.deepEqual(kept.filter((k) => !/^amparo\.(lang|reference\.(es|en))$/.test(k)), []);
    const cached = await page.evaluate(async () => {
      const urls = [];
      for (const name of await caches.keys()) for (const r of await (await caches.open(name)).keys()) urls.push(new URL(r.url).pathname);
      return urls;
    });
    assert.deepEqual(cached.filter((u) => u.startsWith('/graphql')), [], 'no API answer is cached');
    await page.goto(`${amparo.url}/casos`);
    await page.waitForURL(/\/ingresar$/);
    await ctx.close();
  });

  test('a supervisor approves the closure an officer asked for', async () => {
    const c = await fileCase('officer@pgn.demo');
    // The officer asks for the closure, with its reason.
    const officer = await newPage();
    await signIn(officer.page, amparo.url, 'Oficial PGN');
    await officer.page.goto(`${amparo.url}/casos/${c.id}`);
    await officer.page.getByRole('heading', { name: 'Etapa del caso' }).waitFor();
    await officer.page.getByLabel('Pedir el cierre del caso').check();
    await officer.page.getByRole('button', { name: 'Registrar el paso' }).click();
    await officer.page.getByRole('alert').getByRole('link', { name: 'Elija el motivo de cierre' }).waitFor();
    await officer.page.getByLabel('Motivo de cierre').selectOption('GOAL_MET');
    await officer.page.getByRole('button', { name: 'Registrar el paso' }).click();
    await officer.page.getByText('Cierre pedido: espera la aprobación de supervisión.').waitFor();
    await officer.page.getByText('El cierre espera la aprobación de supervisión.').waitFor();
    await check(officer.page, 'case-workflow');
    await officer.ctx.close();

    // The supervisor finds it among the closures to decide, and approves it.
    const { ctx, page } = await newPage();
    await signIn(page, amparo.url, 'Supervisora PGN');
    await page.getByRole('link', { name: 'Cierres por aprobar' }).click();
    await page.getByRole('heading', { name: 'Cierres por aprobar' }).waitFor();
    await page.getByRole('link', { name: c.reference }).waitFor();
    await check(page, 'supervisor-closures');
    await page.getByRole('link', { name: c.reference }).click();
    await page.getByText('Objetivos del plan cumplidos').first().waitFor();
    await page.getByLabel('Aprobar el cierre').check();
    await page.getByRole('button', { name: 'Registrar el paso' }).click();
    await page.getByText('Cierre aprobado: el caso está cerrado.').waitFor();
    await page.getByRole('region', { name: 'Historial' }).getByText('Etapa').first().waitFor();
    await check(page, 'supervisor-case');
    const tok = await token(amparo.url, 'supervisor@pgn.demo');
    const after = await gql(amparo.url, tok, 'query($id: ID!) { case(id: $id) { status closureReason } }', { id: c.id });
    assert.deepEqual(after.case, { status: 'CLOSED', closureReason: 'GOAL_MET' });

    // The unassigned queue: the supervisor assigns a case to an officer.
    const q = await fileCase('supervisor@pgn.demo');
    await gql(amparo.url, tok, 'mutation($id: ID!) { assignCase(input: { caseId: $id, assigneeEmail: "supervisor@pgn.demo" }) { case { id } } }', { id: q.id });
    await page.goto(`${amparo.url}/casos/${q.id}`);
    // Picked from the institution's staff, by keyboard; a case already
    // assigned is not offered to be taken, only reassigned.
    const picker = page.getByLabel('Asignar a', { exact: true });
    await picker.locator('option', { hasText: 'Oficial PGN (officer@pgn.demo)' }).waitFor({ state: 'attached' });
    assert.equal(await page.getByRole('button', { name: 'Tomar el caso' }).count(), 0, 'no "take" on an assigned case');
    assert.equal(await picker.locator('option', { hasText: 'officer@sbs.demo' }).count(), 0, 'no one of another institution');
    await page.getByRole('button', { name: 'Asignar', exact: true }).click();
    await page.getByRole('alert').getByRole('link', { name: 'Elija a la persona a quien se asigna el caso' }).waitFor();
    await picker.focus();
    await picker.selectOption({ label: 'Oficial PGN (officer@pgn.demo)' });
    await check(page, 'case-assign');
    const reread = page.waitForResponse((r) => r.url().endsWith('/graphql') && (r.request().postData() ?? '').includes('query CasePage'));
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByText('Caso asignado a Oficial PGN.').waitFor();
    // A stale version is answered with the current one (once the page has
    // read the case again after its own change, so that it holds that version).
    await reread;
    await gql(amparo.url, tok, 'mutation($id: ID!) { assignCase(input: { caseId: $id, assigneeEmail: "supervisor@pgn.demo" }) { case { id } } }', { id: q.id });
    await picker.selectOption({ label: 'Supervisora PGN (supervisor@pgn.demo)' });
    await page.getByRole('button', { name: 'Asignar', exact: true }).click();
    await page.getByText('Otra persona cambió el caso mientras lo leía.', { exact: false }).waitFor();
    await page.getByText('A cargo de Supervisora PGN (supervisor@pgn.demo).').waitFor();
    await ctx.close();

    // An officer is offered to take a case of the queue, and takes it.
    const u = await queueCase();
    const officer2 = await newPage();
    await signIn(officer2.page, amparo.url, 'Oficial PGN');
    await officer2.page.goto(`${amparo.url}/casos/${u.id}`);
    await officer2.page.getByText('Sin asignar: el caso espera en la cola de la institución.').waitFor();
    assert.equal(await officer2.page.getByLabel('Asignar a', { exact: true }).count(), 0, 'an officer assigns no one');
    await officer2.page.getByRole('button', { name: 'Tomar el caso' }).click();
    await officer2.page.getByText('Caso asignado a Oficial PGN.').waitFor();
    await officer2.page.getByText('A cargo de Oficial PGN (officer@pgn.demo).').waitFor();
    assert.equal(await officer2.page.getByRole('button', { name: 'Tomar el caso' }).count(), 0, 'taken: no longer offered');
    await officer2.ctx.close();
  });

  test('an officer refers a case, the receiving office accepts and completes it, a pending one is withdrawn', async () => {
    const c = await fileCase('officer@pgn.demo');
    const { ctx, page } = await newPage();
    await signIn(page, amparo.url, 'Oficial PGN');
    await page.goto(`${amparo.url}/casos/${c.id}`);
    await page.getByRole('button', { name: 'Remitir el caso a otra institución' }).click();
    await page.getByRole('button', { name: 'Enviar la remisión' }).click();
    await page.getByRole('alert').getByRole('link', { name: 'Diga si hay consentimiento' }).waitFor();
    await page.getByLabel('Institución que recibe').selectOption('SBS');
    await page.locator('#f-services input[type=checkbox]').first().check();
    await page.getByLabel('Motivo de la remisión').fill('Necesita albergue temporal mientras se localiza a la familia.');
    await page.getByLabel('No: se remite con base legal').check();
    await page.getByLabel('Interés superior del niño').check();
    await page.getByLabel('Justificación').fill('Sin familia localizable y en riesgo en la frontera.');
    await check(page, 'refer-case');
    await page.getByRole('button', { name: 'Enviar la remisión' }).click();
    await page.getByText(/Remisión enviada a Secretaría de Bienestar Social/).waitFor();
    await page.getByRole('link', { name: 'Remisiones', exact: true }).click();
    await page.getByRole('link', { name: 'Remisiones enviadas' }).click();
    await page.getByRole('link', { name: c.reference }).first().waitFor();
    await ctx.close();

    // The receiving office sees the summary only, and accepts.
    const sbs = await newPage();
    await signIn(sbs.page, amparo.url, 'Oficial SBS');
    await sbs.page.getByRole('link', { name: 'Remisiones', exact: true }).click();
    await sbs.page.getByRole('heading', { name: 'Remisiones recibidas' }).waitFor();
    const card = sbs.page.getByRole('article').filter({ hasText: 'De Procuraduría General' }).first();
    await card.getByText('Solo el resumen').waitFor();
    assert.equal(await card.getByRole('link', { name: c.reference }).count(), 0, 'the case is not readable before accepting');
    await check(sbs.page, 'referrals-incoming');
    await card.getByRole('button', { name: 'Aceptar la remisión' }).click();
    await sbs.page.getByText('Remisión aceptada').waitFor();
    await sbs.page.getByRole('link', { name: c.reference }).first().click();
    await sbs.page.getByRole('heading', { name: `Caso ${c.reference}` }).waitFor();

    // Once the services are delivered, the receiving office completes it.
    await sbs.page.getByRole('link', { name: 'Remisiones', exact: true }).click();
    const accepted = sbs.page.getByRole('article').filter({ has: sbs.page.getByRole('link', { name: c.reference }) }).first();
    await accepted.getByRole('button', { name: 'Completar la remisión' }).click();
    await accepted.getByText('Marque al menos un servicio prestado').first().waitFor();
    await accepted.locator('input[type=checkbox]').first().check();
    await check(sbs.page, 'referral-complete');
    await accepted.getByRole('button', { name: 'Completar la remisión' }).click();
    await sbs.page.getByText('Remisión completada').waitFor();
    await sbs.ctx.close();

    // A referral not yet answered is withdrawn by the side that made it.
    const other = await fileCase('officer@pgn.demo');
    await gql(amparo.url, await token(amparo.url, 'officer@pgn.demo'), `mutation($in: ReferCaseInput!) { referCase(input: $in) { referral { id } } }`,
      { in: { caseId: other.id, toInstitution: 'SBS', services: ['SHELTER'], reason: 'Necesita albergue temporal.', consent: { given: true, by: 'CAREGIVER' } } });
    const pgn = await newPage();
    await signIn(pgn.page, amparo.url, 'Oficial PGN');
    await pgn.page.goto(`${amparo.url}/remisiones?sentido=enviadas`);
    const pending = pgn.page.getByRole('article').filter({ has: pgn.page.getByRole('link', { name: other.reference }) }).first();
    await pending.getByRole('button', { name: 'Retirar la remisión…' }).click();
    await pending.getByRole('button', { name: 'Retirar la remisión', exact: true }).click();
    await pgn.page.getByText('Remisión retirada.').waitFor();
    await pgn.ctx.close();
  });

  test('an alert arrives live on the bell and is marked read', async () => {
    const { ctx, page } = await newPage();
    // The bell subscribes over graphql-ws as soon as the supervisor is in.
    const subscribed = new Promise((resolve) => page.on('websocket', (ws) => {
      ws.on('framesent', (f) => { if (String(f.payload).includes('"subscribe"')) resolve(); });
    }));
    await signIn(page, amparo.url, 'Supervisora PGN');
    await subscribed;
    const count = page.getByTestId('alerts-count');
    const before = Number(await count.textContent());
    // An urgent case filed elsewhere reaches the supervisor's bell at once.
    await fileCase('officer@pgn.demo', { urgency: 'IMMEDIATE' });
    await page.getByText('Nueva alerta: Caso urgente').waitFor();
    await page.waitForFunction(([n]) => Number(document.querySelector('[data-testid=alerts-count]')?.textContent) > n, [before]);
    await page.getByRole('button', { name: /Alertas/ }).click();
    await page.getByRole('region', { name: 'Alertas sin leer' }).getByRole('link', { name: 'Caso urgente' }).first().waitFor();
    await check(page, 'alerts-bell');
    await page.getByRole('button', { name: 'Marcar todas como leídas' }).click();
    await page.getByText('No hay alertas sin leer.').waitFor();
    assert.equal(await count.textContent(), '0');
    await ctx.close();
  });

  test('oversight reads the indicator report with suppressed cells marked, and downloads a proof', async () => {
    await fileCase('officer@pgn.demo', { departmentCode: 'GT-07' });
    const { ctx, page } = await newPage();
    await signIn(page, amparo.url, 'Supervisión PDH');
    await page.getByRole('link', { name: 'Estadísticas' }).click();
    await page.getByRole('heading', { name: 'Informe de indicadores' }).waitFor();
    const section = page.getByRole('region', { name: 'Casos por departamento', exact: true });
    // A department with 1 to 4 cases: its figure is suppressed, in the
    // table and in the chart, where it has no bar; never a 0.
    const row = section.getByRole('row').filter({ hasText: 'Sololá' });
    await row.getByText('suprimida').waitFor();
    assert.equal(await row.getByRole('cell', { name: '0', exact: true }).count(), 0);
    assert.ok(await section.locator('svg g[data-suppressed=true]').count() > 0, 'the chart marks the suppressed bar');
    assert.equal(await section.locator('svg g[data-suppressed=true] rect[fill="#0b4f6c"]').count(), 0, 'no bar is drawn for it');
    await section.getByText(/cifras? suprimidas? en esta tabla/).waitFor();
    await section.scrollIntoViewIfNeeded();
    await check(page, 'statistics');
    const exported = page.waitForRequest((r) => r.url().includes('X-Amz-Signature'));
    await page.getByRole('button', { name: 'Informe completo (CSV)' }).click();
    await exported;

    // An audit event's inclusion proof, downloaded to check offline.
    await page.goto(`${amparo.url}/auditoria`);
    await page.getByText('Cómo verificar un evento sin el servidor').click();
    await page.getByText('amparo audit verify-proof').waitFor();
    const proofButton = page.getByRole('button', { name: /Descargar la prueba/ }).first();
    await proofButton.waitFor();
    // The newest event can be sealed a moment before a checkpoint covers
    // it: the console then says to try again in a few seconds, and the
    // test does as a user would.
    let download = null;
    for (let i = 0; !download && i < 10; i++) {
      [download] = await Promise.all([page.waitForEvent('download', { timeout: 3000 }).catch(() => null), proofButton.click()]);
    }
    assert.ok(download, 'the proof was downloaded within ten tries');
    const proof = JSON.parse(readFileSync(await download.path(), 'utf8'));
    assert.ok(proof.eventId && proof.canonical && Array.isArray(proof.hashes) && proof.checkpoint.includes('\n\n'), 'a whole proof');
    await ctx.close();
  });

  test('an officer files a case offline and it is sent once when the connection returns', async () => {
    const summary = `Adolescente retornado por Tecún Umán ${Date.now()}`;
    const { ctx, page, filings } = await keepCaseOffline(summary);
    await page.getByText('1 ficha de caso pendiente de envío.').waitFor();
    await check(page, 'file-case-pending');
    assert.equal(filings.length, 0, 'nothing was sent without a connection');
    await ctx.setOffline(false);
    await page.getByText('Caso guardado sin conexión: ya fue abierto.').waitFor();
    await page.getByRole('link', { name: /PGN-\d{4}-\d+/ }).first().waitFor();
    assert.equal(filings.length, 1, 'sent exactly once');
    const data = await gql(amparo.url, await token(amparo.url, 'officer@pgn.demo'), '{ cases(first: 100, filter: { assignedToMe: true }) { edges { node { summary } } } }');
    assert.equal(data.cases.edges.filter((e) => e.node.summary === summary).length, 1, 'one case on the server');
    await ctx.close();
  });

  test('a case kept offline that the server refuses is shown, not sent again, corrected and sent once', async () => {
    // Longer than the server takes (8,000 characters): the console does not check it.
    const { ctx, page, filings } = await keepCaseOffline('Niña sola en la garita. '.repeat(340));
    await ctx.setOffline(false);
    // Refused for good: shown with the server's message at its field, and not sent again.
    const outbox = page.getByRole('complementary', { name: 'Pendientes de envío en este dispositivo' });
    await outbox.getByText('Rechazada', { exact: true }).waitFor();
    await outbox.getByText('1 rechazada por el servidor: corríjala o descártela.').waitFor();
    await outbox.getByText(/Resumen del caso: a lo sumo 8000 caracteres/).waitFor();
    await check(page, 'outbox-refused');
    await page.waitForTimeout(7000); // past the first wait of a retry
    assert.equal(filings.length, 1, 'a refusal is not sent again');
    // Corrected in its own form, with the error at the field, and sent.
    await outbox.getByRole('button', { name: 'Corregir y reenviar' }).click();
    await page.getByText('Está corrigiendo lo que el servidor rechazó.', { exact: false }).waitFor();
    await page.getByRole('alert').getByRole('link', { name: /a lo sumo 8000 caracteres/ }).waitFor();
    assert.equal(await page.getByLabel('Edad en años').inputValue(), '16');
    const summary = `Niña hondureña sola en la garita ${Date.now()}`;
    await page.getByLabel('Resumen del caso').fill(summary);
    await page.getByRole('button', { name: 'Abrir el caso' }).click();
    await page.getByText(/Caso PGN-\d{4}-\d+ abierto/).first().waitFor();
    assert.equal(filings.length, 2, 'sent once more, corrected');
    assert.equal(await outbox.count(), 0, 'nothing left on the device');
    const data = await gql(amparo.url, await token(amparo.url, 'officer@pgn.demo'), '{ cases(first: 100, filter: { assignedToMe: true }) { edges { node { summary } } } }');
    assert.equal(data.cases.edges.filter((e) => e.node.summary === summary).length, 1, 'one case on the server');
    await ctx.close();
  });

  test('a supervisor and a receiving office work a case and its referrals in English', async () => {
    // What is not the console's own text: people, places and what people wrote.
    const tok = await token(amparo.url, 'supervisor@pgn.demo');
    const ref = await gql(amparo.url, tok, '{ departments { name } entryPoints { name } institutions { code } }');
    const data = ['Oficial PGN', 'Supervisora PGN', 'Oficial SBS', 'Supervisión PDH', 'Recepción IGM', 'Administración',
      ...ref.departments.map((d) => d.name), ...ref.entryPoints.map((e) => e.name)];
    const c = await fileCase('officer@pgn.demo', { summary: 'Teenager alone at the border.' });
    const sent = await fileCase('officer@pgn.demo', { summary: 'Teenager alone at the border.' });
    await gql(amparo.url, await token(amparo.url, 'officer@pgn.demo'), `mutation($in: ReferCaseInput!) { referCase(input: $in) { referral { id } } }`,
      { in: { caseId: sent.id, toInstitution: 'SBS', services: ['SHELTER'], reason: 'Needs a shelter.', consent: { given: true, by: 'CAREGIVER' } } });
    const english = async () => {
      const p = await newPage();
      await p.ctx.addInitScript(() => localStorage.setItem('amparo.lang', 'en'));
      return p;
    };

    // Workflow and assignment.
    const { ctx, page } = await english();
    await signIn(page, amparo.url, 'Supervisora PGN');
    await page.goto(`${amparo.url}/casos/${c.id}`);
    await page.getByRole('heading', { name: `Case ${c.reference}` }).waitFor();
    await page.getByRole('heading', { name: 'Case step' }).waitFor();
    await page.getByLabel('Assign to', { exact: true }).locator('option', { hasText: 'supervisor@pgn.demo' }).waitFor({ state: 'attached' });
    await checkEnglish(page, 'en-case-workflow', data);
    await page.getByLabel('Move to “Assessment”').check();
    await page.getByRole('button', { name: 'Record the step' }).click();
    await page.getByText('The case moved to “Assessment”.').waitFor();
    await page.getByLabel('Assign to', { exact: true }).selectOption({ label: 'Supervisora PGN (supervisor@pgn.demo)' });
    await page.getByRole('button', { name: 'Assign', exact: true }).click();
    await page.getByText('Case assigned to Supervisora PGN.').waitFor();
    await page.getByRole('region', { name: 'History' }).getByText('Assignment').first().waitFor();
    await checkEnglish(page, 'en-case-history', data);
    // Refer, with its form's errors.
    await page.getByRole('button', { name: 'Refer the case to another institution' }).click();
    await page.getByRole('button', { name: /Send the referral/ }).click();
    await page.getByRole('alert').first().waitFor();
    await checkEnglish(page, 'en-refer-case', data);
    // Referrals sent, the bell, the figures, the audit trail.
    await page.goto(`${amparo.url}/remisiones?sentido=enviadas`);
    const pending = page.getByRole('article').filter({ has: page.getByRole('link', { name: sent.reference }) }).first();
    await pending.getByRole('button', { name: 'Withdraw the referral…' }).click();
    await pending.getByLabel('Why it is withdrawn (optional)').waitFor();
    await checkEnglish(page, 'en-referrals-outgoing', data);
    await page.getByRole('button', { name: /Alerts/ }).click();
    await page.getByRole('region', { name: 'Unread alerts' }).waitFor();
    await checkEnglish(page, 'en-alerts', data);
    await page.goto(`${amparo.url}/estadisticas`);
    await page.getByRole('heading', { name: 'Indicator report' }).waitFor();
    await page.locator('svg.chart').first().waitFor();
    await checkEnglish(page, 'en-statistics', data);
    await page.goto(`${amparo.url}/auditoria`);
    await page.getByRole('heading', { name: 'Audit trail' }).waitFor();
    await page.getByRole('cell').first().waitFor();
    await checkEnglish(page, 'en-audit', data);
    await ctx.close();

    // The receiving office: the summary only, declining with a reason.
    const sbs = await english();
    await signIn(sbs.page, amparo.url, 'Oficial SBS');
    await sbs.page.getByRole('link', { name: 'Referrals', exact: true }).first().click();
    await sbs.page.getByRole('heading', { name: 'Referrals received' }).waitFor();
    const labelled = await sbs.page.getByRole('article').filter({ has: sbs.page.getByRole('button', { name: 'Decline…' }) }).first().getAttribute('aria-labelledby');
    const card = sbs.page.locator(`article[aria-labelledby="${labelled}"]`);
    await card.getByText('Summary only', { exact: false }).waitFor();
    await card.getByRole('button', { name: 'Decline…' }).click();
    await card.getByRole('button', { name: 'Decline the referral' }).click();
    await card.getByText('Say why it is declined').first().waitFor();
    await checkEnglish(sbs.page, 'en-referrals-incoming', data);
    await sbs.ctx.close();

    // An officer files a case: the duplicate warning; then one kept offline that the server refuses, discarded.
    const names = ['Rosa Elena', 'Gómez'];
    await fileCase('officer@pgn.demo', { child: { givenName: names[0], familyName: names[1], dateOfBirth: '2013-05-01',
      sex: 'FEMALE', nationality: 'HND', populationStatus: 'MIGRANT_TRANSIT', careStatus: 'UNACCOMPANIED' } });
    const off = await english();
    await signIn(off.page, amparo.url, 'Oficial PGN');
    await off.page.evaluate(async () => { await navigator.serviceWorker.ready; });
    const fill = async (summary) => {
      await off.page.getByRole('link', { name: 'File a case' }).first().click();
      await off.page.getByRole('heading', { name: 'File a case' }).waitFor();
      await off.page.getByLabel('Given names').fill(names[0]);
      await off.page.getByLabel('Family names').fill(names[1]);
      await off.page.getByLabel('Date of birth').fill('2013-09-12');
      await off.page.getByLabel('Female').check();
      await off.page.getByLabel('Nationality').selectOption('HND');
      await off.page.getByLabel('Migration situation').selectOption('MIGRANT_TRANSIT');
      await off.page.getByLabel('Unaccompanied').check();
      await off.page.getByLabel('Type of violation').selectOption({ index: 1 });
      await off.page.getByLabel('Department').selectOption('GT-13');
      await off.page.getByLabel('High', { exact: true }).check();
      await off.page.getByLabel('Case summary').fill(summary);
      await off.page.getByRole('button', { name: 'File the case' }).click();
    };
    await fill('Girl alone at the border post.');
    await off.page.getByRole('alert').filter({ hasText: 'Possible duplicate' }).getByRole('link').first().waitFor();
    await checkEnglish(off.page, 'en-duplicate', [...data, ...names]);
    await off.ctx.setOffline(true);
    await fill('Girl alone at the border post. '.repeat(300));
    await off.page.getByLabel('Safekeeping passphrase').fill('border-post-2026');
    await off.page.getByRole('button', { name: 'Keep it encrypted on this device' }).click();
    await off.page.getByRole('heading', { name: 'Case form saved on this device' }).waitFor();
    await off.ctx.setOffline(false);
    const outbox = off.page.getByRole('complementary', { name: 'Waiting to be sent from this device' });
    await outbox.getByText('1 refused by the server: correct it or discard it.').waitFor();
    await outbox.getByText(/Case summary: at most 8000 characters/).waitFor();
    await checkEnglish(off.page, 'en-outbox-refused', data);
    await outbox.getByRole('button', { name: 'Discard' }).click();
    await outbox.getByRole('button', { name: 'Yes, erase it from this device' }).click();
    await outbox.waitFor({ state: 'detached' });
    await off.ctx.close();
  });

  test('the console switches to English', async () => {
    const { ctx, page } = await newPage();
    await page.goto(`${amparo.url}/seguimiento`);
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Follow your complaint' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    await check(page, 'tracking-en');
    await ctx.close();
  });
});
