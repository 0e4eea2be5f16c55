// Drives code-server (VS Code in the browser) with headless Chromium through playwright-core, to test
// the Hearth extension end to end. Started by tests/editors/vscode/run, which sets:
//   URL       code-server's address with ?folder=WORKSPACE
//   FILE      the Rust file to edit (WORKSPACE/src/main.rs); its text is checked on disk after saves
//   OUT       the folder for screenshots
//   CHROMIUM  the browser executable
//   MACHINE_SETTINGS  code-server's Machine/settings.json, which holds hearth.server.path
// Steps: wait for Hearth's status bar item to say the model is ready; type in main.rs until Hearth's
// ghost text shows; accept it with Tab and check the saved file; check the status bar shows the last
// completion's latency; run the code action "Hearth: Document this function" on a function and check
// the saved file has a doc comment above it and is otherwise unchanged.

'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const { URL: url, FILE: file, OUT: out, MACHINE_SETTINGS: machineSettings } = process.env;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TYPED = 'let answer = fib';
const ACTION = 'Hearth: Document this function';
const CANCELLED_ACTION = 'Hearth: Write a test for this function';
const REWRITE_INSTRUCTION = 'use wrapping_add instead of +';
const TYPED_MANUAL = 'let doubled = ad';
const MANUAL_QUIET_MS = 4000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const started = Date.now();
let stepStarted = started;
function step(message) {
    const now = Date.now();
    console.log(`drive: [${((now - stepStarted) / 1000).toFixed(1)} s] ${message} ` +
        `[${((now - started) / 1000).toFixed(1)} s total]`);
    stepStarted = now;
}
class Failure extends Error {}
function fail(message) {
    throw new Failure(message);
}

/** Polls `probe` until it returns a truthy value; fails with `what` after `ms`. */
async function poll(what, ms, probe, every = 250) {
    const deadline = Date.now() + ms;
    for (;;) {
        const value = await probe();
        if (value) {
            return value;
        }
        if (Date.now() > deadline) {
            fail(`timed out after ${ms / 1000} s waiting for ${what}`);
        }
        await sleep(every);
    }
}

/** Monaco renders spaces as U+00A0 in the DOM. */
const plain = (text) => (text ?? '').replace(/\u00a0/g, ' ');

let page;
let shot = 0;
async function screenshot(name) {
    const target = path.join(out, `${String(++shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: target });
    console.log(`drive: screenshot ${target}`);
    return target;
}

/** The Hearth status bar item's accessible label ("Hearth: ready, last completion 123 ms"), if shown. */
async function hearthStatus() {
    return page.evaluate(() => {
        for (const el of document.querySelectorAll('.statusbar-item, [id*="hearth.status"]')) {
            const label = el.getAttribute('aria-label') || el.querySelector('[aria-label]')?.getAttribute('aria-label');
            if (label && label.startsWith('Hearth:')) {
                return { label, text: el.textContent.trim() };
            }
        }
        return null;
    });
}

/** Hearth's ghost text in the active editor: the part on the cursor's line and any lines below. */
async function ghostText() {
    return page.evaluate(() => {
        const editor = document.querySelector('.editor-instance .monaco-editor.focused') ||
            document.querySelector('.editor-instance .monaco-editor');
        if (!editor) {
            return '';
        }
        const inline = [...editor.querySelectorAll('.ghost-text-decoration, .ghost-text-decoration-preview')]
            .map((e) => e.textContent).join('');
        const below = [...editor.querySelectorAll('.ghost-text .view-line, .ghost-text > div')]
            .map((e) => e.textContent);
        return [inline, ...below].join('\n').replace(/\u00a0/g, ' ').replace(/\n+$/, '');
    });
}

/** The visible lines of the active editor, top to bottom. */
async function editorLines() {
    return page.evaluate(() => {
        const editor = document.querySelector('.editor-instance .monaco-editor');
        if (!editor) {
            return [];
        }
        return [...editor.querySelectorAll('.view-lines .view-line')]
            .map((e) => ({ top: parseFloat(e.style.top) || 0, text: e.textContent.replace(/\u00a0/g, ' ') }))
            .sort((a, b) => a.top - b.top)
            .map((e) => e.text);
    });
}

async function goToLine(line, column) {
    await page.keyboard.press('Control+G');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 10000 });
    await page.keyboard.type(column ? `${line}:${column}` : `${line}`);
    await page.keyboard.press('Enter');
    await sleep(300);
}

/** Opens the code action menu (Ctrl+.) at the cursor until it lists `title`; returns its rows. */
async function openCodeActionMenu(title) {
    for (let attempt = 1; ; attempt++) {
        await page.keyboard.press('Control+Period');
        const rows = await poll(`"${title}" in the code action menu`, 15000, async () => {
            const texts = await page.$$eval('.action-widget .monaco-list-row', (rs) => rs.map((r) => r.textContent));
            return texts.some((t) => t.includes(title)) ? texts : null;
        }).catch((err) => {
            if (attempt >= 3) {
                throw err;
            }
            return null;
        });
        if (rows) {
            return rows;
        }
        await page.keyboard.press('Escape');
        await sleep(1000);
    }
}

/** Picks `title` in the open code action menu with the keyboard, as a user would (the menu's overlay
 * swallows synthetic clicks). */
async function chooseCodeAction(title) {
    for (let i = 0; i < 12; i++) {
        const focused = await page.$eval('.action-widget .monaco-list-row.focused', (r) => r.textContent)
            .catch(() => '');
        if (focused.includes(title)) {
            await page.keyboard.press('Enter');
            return;
        }
        await page.keyboard.press('ArrowDown');
        await sleep(100);
    }
    fail(`could not select "${title}" in the code action menu`);
}

/** The notification toasts on screen (errors and warnings stay until dismissed). */
async function notifications() {
    return page.$$eval('.notifications-toasts .notification-list-item-message', (es) => es.map((e) => e.textContent));
}

/** Runs a command from the command palette by its title. */
async function runCommand(title) {
    await page.keyboard.press('F1');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 10000 });
    await page.keyboard.type(title);
    await poll(`"${title}" in the command palette`, 10000, () => page.evaluate((t) =>
        [...document.querySelectorAll('.quick-input-list .monaco-list-row.focused')].some((r) => r.textContent.includes(t)),
    title));
    await page.keyboard.press('Enter');
    await sleep(300);
}

async function save(expectChange) {
    const before = fs.statSync(file).mtimeMs;
    await page.keyboard.press('Control+S');
    if (expectChange) {
        await poll('the file to be saved', 10000, () => fs.statSync(file).mtimeMs !== before);
        await sleep(200);
    }
    return fs.readFileSync(file, 'utf8');
}

async function main() {
    for (const [name, value] of Object.entries({ URL: url, FILE: file, OUT: out, MACHINE_SETTINGS: machineSettings })) {
        if (!value) {
            fail(`${name} is not set (run tests/editors/vscode/run)`);
        }
    }
    const original = fs.readFileSync(file, 'utf8');
    const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    try {
        page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        page.on('console', (m) => {
            if (m.type() === 'error' && !/favicon|ERR_|workbench\.web\.main|\[Extension Host\]/.test(m.text())) {
                console.log('[browser]', m.text().slice(0, 200));
            }
        });
        await page.goto(url, { waitUntil: 'domcontentloaded' });
        await page.waitForSelector('.monaco-workbench', { timeout: 90000 });
        step('workbench loaded');

        // Open src/main.rs with Quick Open; that activates the extension (onLanguage:rust).
        await poll('Quick Open to find main.rs', 60000, async () => {
            await page.keyboard.press('Control+P');
            await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 10000 });
            await page.keyboard.type('main.rs');
            try {
                await page.waitForSelector('.quick-input-list .monaco-list-row', { timeout: 5000 });
            } catch {
                await page.keyboard.press('Escape');
                return false;
            }
            await page.keyboard.press('Enter');
            return true;
        }, 1000);
        await page.waitForSelector('.editor-instance .monaco-editor .view-lines', { timeout: 30000 });
        await poll('main.rs in the editor', 30000, async () => (await editorLines()).some((l) => l.startsWith('fn main')));
        step('main.rs open');

        const ready = await poll('the status bar to show the model ready', 180000, async () => {
            const status = await hearthStatus();
            if (status && /^Hearth: (error|server not found|server stopped|disabled)/.test(status.label)) {
                await screenshot('status-error');
                fail(`Hearth's status bar item says "${status.label}"`);
            }
            return status && status.label.startsWith('Hearth: ready') ? status : null;
        }, 500);
        step(`status bar: "${ready.label}" (${JSON.stringify(ready.text)})`);
        await screenshot('ready');

        // Type a new line in main() and wait for the ghost text.
        const lines = original.split('\n');
        const anchor = lines.findIndex((l) => l.includes('let total = add(2, 3);'));
        if (anchor < 0) {
            fail('the workspace file lacks its anchor line');
        }
        await page.click('.editor-instance .monaco-editor .view-lines');
        await goToLine(anchor + 1);
        await page.keyboard.press('End');
        await page.keyboard.press('Enter'); // VS Code indents the new line
        await page.keyboard.type(TYPED, { delay: 40 });
        const typedLine = await poll('the typed line', 5000, async () =>
            (await editorLines()).find((l) => l.trimEnd().endsWith(TYPED)));
        step(`typed ${JSON.stringify(TYPED)}: the line is ${JSON.stringify(typedLine)}`);

        // Automatic requests come as the user types; if none brings a suggestion (the shared CPU can
        // make the last one lose to a newer keystroke), ask explicitly as a user would (Alt+\).
        let ghost = await poll('ghost text after typing', 45000, ghostText, 250).catch(() => '');
        let how = 'automatic';
        if (!ghost) {
            how = 'invoked (Hearth: Trigger Completion)';
            await page.keyboard.press('Alt+Backslash');
            ghost = await poll('ghost text after an explicit trigger', 120000, ghostText, 250);
        }
        step(`ghost text (${how}): ${JSON.stringify(ghost)}`);
        await screenshot('ghost-text');
        const ghostShot = shot;

        await page.keyboard.press('Tab');
        await poll('the ghost text to be accepted', 10000, async () => !(await ghostText()));
        await sleep(300);
        await screenshot('accepted');
        const afterTab = await save(true);
        const firstGhostLine = ghost.split('\n')[0];
        const expectedLine = typedLine.trimEnd() + firstGhostLine;
        const saved = afterTab.split('\n');
        if (saved[anchor + 1].trimEnd() !== expectedLine.trimEnd()) {
            fail(`after Tab, line ${anchor + 2} of the saved file is ${JSON.stringify(saved[anchor + 1])}, ` +
                `expected the typed text plus the ghost text: ${JSON.stringify(expectedLine)}`);
        }
        // Everything before the typed line is untouched, and the lines after it still end the file.
        if (saved.slice(0, anchor + 1).join('\n') !== lines.slice(0, anchor + 1).join('\n')) {
            fail('after Tab, the lines above the cursor changed');
        }
        const tail = lines.slice(anchor + 1).join('\n');
        if (!afterTab.endsWith(tail)) {
            fail(`after Tab, the file no longer ends with the original lines below the cursor:\n${afterTab}`);
        }
        step(`Tab accepted it; saved line ${anchor + 2}: ${JSON.stringify(saved[anchor + 1])}`);

        const latency = await poll('the status bar to show the last latency', 30000, async () => {
            const status = await hearthStatus();
            return status && /last completion \d+ ms/.test(status.label) ? status : null;
        }, 500);
        step(`status bar: "${latency.label}" (${JSON.stringify(latency.text)})`);
        await screenshot('latency');

        // The code action: Ctrl+. on a function's name.
        const fnIndex = afterTab.split('\n').findIndex((l) => l.startsWith('fn fibonacci'));
        await goToLine(fnIndex + 1, 5);
        const menu = await openCodeActionMenu(ACTION);
        step(`code action menu: ${JSON.stringify(menu)}`);
        await screenshot('code-action-menu');
        await chooseCodeAction(ACTION);
        step(`chose "${ACTION}"; waiting for the model`);
        await sleep(2000);
        await screenshot('code-action-running');
        await poll('the doc comment above fn fibonacci', 240000, async () => {
            const visible = await editorLines();
            const at = visible.findIndex((l) => l.startsWith('fn fibonacci'));
            return at > 0 && /^\s*(\/\/\/|\/\*\*)/.test(visible[at - 1]);
        }, 500);
        await sleep(500);
        await screenshot('code-action-applied');
        const afterAction = await save(true);
        const actionLines = afterAction.split('\n');
        const fnAt = actionLines.findIndex((l) => l.startsWith('fn fibonacci'));
        let docStart = fnAt;
        while (docStart > 0 && /^\s*(\/\/\/|\/\*\*|\*)/.test(actionLines[docStart - 1])) {
            docStart--;
        }
        const doc = actionLines.slice(docStart, fnAt);
        if (doc.length === 0) {
            fail(`the saved file has no doc comment above fn fibonacci:\n${afterAction}`);
        }
        const withoutDoc = [...actionLines.slice(0, docStart), ...actionLines.slice(fnAt)].join('\n');
        if (withoutDoc !== afterTab) {
            fail(`the code action changed more than the doc comment:\n${afterAction}`);
        }
        step(`code action applied; doc comment: ${JSON.stringify(doc)}`);

        // Cancel a running action from its notification: the file stays as it was.
        await goToLine(fnAt + 1, 5);
        await openCodeActionMenu(CANCELLED_ACTION);
        await chooseCodeAction(CANCELLED_ACTION);
        const cancel = await poll('the cancellable progress notification', 30000, async () => {
            for (const toast of await page.$$('.notifications-toasts .notification-toast')) {
                if ((await toast.textContent()).includes(CANCELLED_ACTION)) {
                    return toast.$('.monaco-button:has-text("Cancel")');
                }
            }
            return null;
        }, 200);
        await screenshot('action-progress');
        await cancel.click();
        await poll('the progress notification to close', 30000, async () =>
            !(await notifications()).some((n) => n.includes(CANCELLED_ACTION)));
        step(`cancelled "${CANCELLED_ACTION}" from its notification`);
        await sleep(3000);
        const afterCancel = await save(false);
        if (afterCancel !== afterAction) {
            fail(`the cancelled action changed the file:\n${afterCancel}`);
        }
        const noted = await notifications();
        console.log(`drive: notifications after cancelling: ${JSON.stringify(noted)}`);

        // Rewrite a selection through the command palette: input box, then `hearth.rewrite`.
        const bodyAt = actionLines.findIndex((l) => l.trim() === 'a + b');
        await goToLine(bodyAt + 1);
        await page.keyboard.press('End');
        await page.keyboard.press('Shift+Home'); // selects "a + b", not the indentation
        await runCommand('Hearth: Rewrite Selection with an Instruction');
        await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 10000 });
        await page.keyboard.type(REWRITE_INSTRUCTION, { delay: 20 });
        await screenshot('rewrite-instruction');
        await page.keyboard.press('Enter');
        step(`asked to rewrite "a + b": ${JSON.stringify(REWRITE_INSTRUCTION)}`);
        await poll('the rewritten line', 240000, async () => {
            const visible = await editorLines();
            const at = visible.findIndex((l) => l.startsWith('fn add('));
            return at >= 0 && visible[at + 1] !== undefined && visible[at + 1].trim() !== 'a + b';
        }, 500);
        await sleep(500);
        await screenshot('rewrite-applied');
        const afterRewrite = await save(true);
        const rewritten = afterRewrite.split('\n');
        const addAt = rewritten.findIndex((l) => l.startsWith('fn add('));
        const closeAt = rewritten.findIndex((l, i) => i > addAt && l === '}');
        const newBody = rewritten.slice(addAt + 1, closeAt);
        if (rewritten.slice(0, addAt + 1).join('\n') !== actionLines.slice(0, bodyAt).join('\n') ||
            rewritten.slice(closeAt).join('\n') !== actionLines.slice(bodyAt + 1).join('\n')) {
            fail(`the rewrite changed more than the selection:\n${afterRewrite}`);
        }
        if (newBody.join('\n').trim() === 'a + b' || !newBody.join('\n').trim()) {
            fail(`the rewrite left ${JSON.stringify(newBody)}`);
        }
        step(`rewrite applied: ${JSON.stringify(newBody)}`);

        // Automatic completions off: typing brings no ghost text, "Hearth: Trigger Completion" does.
        await runCommand('Hearth: Toggle Automatic Completions');
        await poll('the status bar to show automatic completions off', 10000, async () =>
            /automatic completions off/.test((await hearthStatus())?.label ?? ''));
        const printAt = rewritten.findIndex((l) => l.includes('println!'));
        await goToLine(printAt + 1);
        await page.keyboard.press('End');
        await page.keyboard.press('Enter');
        await page.keyboard.type(TYPED_MANUAL, { delay: 40 });
        await sleep(MANUAL_QUIET_MS);
        const unasked = await ghostText();
        if (unasked) {
            await screenshot('automatic-off-ghost');
            fail(`with automatic completions off, typing still showed ghost text ${JSON.stringify(unasked)}`);
        }
        step(`automatic completions off: no ghost text ${MANUAL_QUIET_MS / 1000} s after typing ${JSON.stringify(TYPED_MANUAL)}`);
        await runCommand('Hearth: Trigger Completion');
        const asked = await poll('ghost text from Hearth: Trigger Completion', 120000, ghostText, 250);
        await screenshot('triggered');
        step(`Hearth: Trigger Completion showed ${JSON.stringify(asked)}`);
        await page.keyboard.press('Escape');
        await page.keyboard.press('Control+Shift+K'); // drop the line again
        await runCommand('Hearth: Toggle Automatic Completions');
        await poll('the status bar to show automatic completions on', 10000, async () =>
            !/automatic completions off/.test((await hearthStatus())?.label ?? 'automatic completions off'));
        step('automatic completions on again');

        // The logs: the output channel shows the server's log.
        await runCommand('Hearth: Show Logs');
        await poll('the Hearth output channel with the server log', 15000, async () =>
            page.evaluate(() => [...document.querySelectorAll('.output-view .view-line, .panel .view-line')]
                .some((l) => /\[info\] hearth::/.test(l.textContent.replace(/\u00a0/g, " ")))), 500);
        await screenshot('logs');
        step('the output channel shows the server log');

        // Restart: the status bar goes through loading back to ready.
        await runCommand('Hearth: Restart Server');
        await poll('the server to restart and the model to be ready', 120000, async () => {
            const status = await hearthStatus();
            return status && status.label === 'Hearth: ready';
        }, 250);
        step('restarted the server; the model is ready again');
        await screenshot('restarted');
        // No error or warning from Hearth along the way (unknown settings, failed requests, ...).
        const notes = await notifications();
        if (notes.some((n) => /hearth/i.test(n))) {
            fail(`Hearth showed notifications: ${JSON.stringify(notes)}`);
        }

        // A wrong hearth.server.path: a clear message and a red status bar item; fixing it restarts.
        const machine = fs.readFileSync(machineSettings, 'utf8');
        fs.writeFileSync(machineSettings, JSON.stringify({ 'hearth.server.path': '/nonexistent/hearth' }));
        const missing = await poll('a message about the missing server', 30000, async () =>
            (await notifications()).find((n) => n.includes('/nonexistent/hearth')), 500);
        const missingStatus = await poll('the status bar to show the server missing', 10000, async () => {
            const status = await hearthStatus();
            return status && status.label === 'Hearth: server not found' ? status : null;
        });
        await screenshot('server-not-found');
        step(`wrong hearth.server.path: "${missingStatus.label}", message ${JSON.stringify(missing)}`);
        fs.writeFileSync(machineSettings, machine);
        await poll('the server to start again from the fixed setting', 120000, async () =>
            (await hearthStatus())?.label === 'Hearth: ready', 500);
        step('fixed hearth.server.path: the model is ready again');

        console.log(`drive: PASSED; ghost text screenshot #${ghostShot}; final file:\n${afterRewrite}`);
    } catch (err) {
        if (page) {
            await screenshot('failure').catch(() => undefined);
            const status = await hearthStatus().catch(() => null);
            console.log(`drive: status bar at failure: ${JSON.stringify(status)}`);
            console.log(`drive: notifications at failure: ${JSON.stringify(await notifications().catch(() => []))}`);
            const lines = await editorLines().catch(() => []);
            console.log(`drive: editor at failure:\n${lines.join('\n')}`);
        }
        throw err;
    } finally {
        await browser.close();
    }
}

main().catch((err) => {
    console.error(`drive: FAILED: ${err instanceof Failure ? err.message : err.stack || err}`);
    process.exit(1);
});
