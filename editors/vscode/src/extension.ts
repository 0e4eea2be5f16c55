// Hearth for VS Code: starts the `hearth` language server and adds a status bar item and commands
// around its inline completions and code actions.

import * as readline from 'readline';
import type { Readable } from 'stream';
import * as vscode from 'vscode';
import {
    ErrorCodes,
    CodeActionResolveRequest,
    ExecuteCommandRequest,
    ProgressToken,
    WorkDoneProgressBegin,
    WorkDoneProgressCancelNotification,
    LanguageClient,
    LanguageClientOptions,
    LSPErrorCodes,
    ResponseError,
    ServerOptions,
    State,
    TransportKind,
} from 'vscode-languageclient/node';

import { findServer, INSTALL_HINT } from './server';
import { serverSettings, SERVER_SECTIONS } from './settings';
import { CompletionStats, ModelStatus, StatusBar } from './status';

/** The languages the server supports, as VS Code names them. */
export const LANGUAGES = [
    'rust',
    'python',
    'javascript',
    'javascriptreact',
    'typescript',
    'typescriptreact',
    'go',
    'c',
    'cpp',
    'java',
    'lua',
    'shellscript',
];

/** The server's command that rewrites a range following an instruction. */
const REWRITE_COMMAND = 'hearth.rewrite';

interface HearthStatus {
    version?: string;
    model?: ModelStatus;
    completion?: CompletionStats | null;
}

let client: LanguageClient | undefined;
let status: StatusBar;
let output: vscode.LogOutputChannel;
/** `hearth/status` is newer than `hearth/completionStats`; fall back for older servers. */
let hasStatusRequest = true;
let statsInFlight = false;
let statsAgain = false;

function config(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration('hearth');
}

function automaticEnabled(): boolean {
    return config().get<boolean>('inline.automatic', true);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    output = vscode.window.createOutputChannel('Hearth', { log: true });
    status = new StatusBar();
    status.setAutomatic(automaticEnabled());
    context.subscriptions.push(output, status);

    context.subscriptions.push(
        vscode.commands.registerCommand('hearth.toggleAutomatic', toggleAutomatic),
        vscode.commands.registerCommand('hearth.triggerCompletion', () =>
            vscode.commands.executeCommand('editor.action.inlineSuggest.trigger'),
        ),
        vscode.commands.registerCommand('hearth.rewriteSelection', rewriteSelection),
        vscode.commands.registerCommand('hearth.restartServer', restartServer),
        vscode.commands.registerCommand('hearth.showLogs', () => output.show(true)),
        vscode.commands.registerCommand('hearth.showMenu', showMenu),
        vscode.workspace.onDidChangeConfiguration(async (event) => {
            if (event.affectsConfiguration('hearth.inline.automatic')) {
                status.setAutomatic(automaticEnabled());
            }
            if (event.affectsConfiguration('hearth.server')) {
                output.info('hearth.server.* changed: restarting the server');
                await restartServer();
            }
        }),
    );

    await startClient();
}

export async function deactivate(): Promise<void> {
    await stopClient();
}

async function startClient(): Promise<void> {
    const found = findServer(config());
    if (!found.ok) {
        status.setServer('notFound', found.message);
        output.error(found.message);
        void vscode.commands.executeCommand('setContext', 'hearth.active', false);
        // Not awaited: activation must not wait for the user to answer.
        void vscode.window
            .showErrorMessage(`Hearth: ${found.message}`, 'Open Settings', 'Retry')
            .then((choice) => {
                if (choice === 'Open Settings') {
                    void vscode.commands.executeCommand('workbench.action.openSettings', 'hearth.server.path');
                } else if (choice === 'Retry' && !client) {
                    void startClient();
                }
            });
        return;
    }
    output.info(`starting ${found.command} (from ${found.source})`);

    const extraEnv = config().get<Record<string, string>>('server.extraEnv', {});
    const serverOptions: ServerOptions = {
        command: found.command,
        args: [],
        transport: TransportKind.stdio,
        options: { env: { ...process.env, ...extraEnv } },
    };
    const clientOptions: LanguageClientOptions = {
        documentSelector: LANGUAGES.flatMap((language) => [
            { scheme: 'file', language },
            { scheme: 'untitled', language },
        ]),
        outputChannel: output,
        traceOutputChannel: output,
        stdioOptions: { stdout: forwardLines, stderr: forwardLines },
        // The server's settings only; the extension's own (hearth.server.*, ...) stay here.
        initializationOptions: () => {
            const settings = config();
            return serverSettings(Object.fromEntries(SERVER_SECTIONS.map((section) => [section, settings.get(section)])));
        },
        synchronize: { configurationSection: SERVER_SECTIONS.map((section) => `hearth.${section}`) },
        middleware: {
            workspace: {
                configuration: async (params, token, next) => {
                    const values = await next(params, token);
                    if (!Array.isArray(values)) {
                        return values;
                    }
                    return values.map((value, i) =>
                        params.items[i]?.section === 'hearth' ? serverSettings(value) : value,
                    );
                },
            },
            // VS Code shows LSP progress in the status bar, which has no cancel button; show the
            // server's cancellable work (code actions, rewrites) as a notification with one.
            handleWorkDoneProgress: (token, params, next) => {
                if (params.kind === 'begin' && params.cancellable) {
                    cancellableProgress(token, params);
                    return;
                }
                const mine = progresses.get(token);
                if (mine && params.kind === 'report') {
                    mine.report(params.message);
                } else if (mine && params.kind === 'end') {
                    mine.end();
                }
                next(token, params);
            },
            // Resolving runs the model. Its errors are shown as Hearth's own message, and an action
            // the user cancelled from its notification ends quietly, with no edit.
            resolveCodeAction: async (item, token) => {
                const c = client;
                if (!c) {
                    return item;
                }
                const started = Date.now();
                try {
                    const resolved = await c.sendRequest(
                        CodeActionResolveRequest.type,
                        c.code2ProtocolConverter.asCodeActionSync(item),
                        token,
                    );
                    return token.isCancellationRequested ? item : await c.protocol2CodeConverter.asCodeAction(resolved, token);
                } catch (err) {
                    if (!token.isCancellationRequested && !cancelledByUser(err, started)) {
                        showServerError(`${item.title} failed`, err);
                    }
                    return item;
                }
            },
            provideInlineCompletionItems: async (document, position, context, token, next) => {
                if (context.triggerKind === vscode.InlineCompletionTriggerKind.Automatic && !automaticEnabled()) {
                    return null;
                }
                const result = await next(document, position, context, token);
                // The server's last latency is this answer's: show it when it brought a suggestion
                // (an empty or skipped answer is quick and says little).
                const items = Array.isArray(result) ? result : result?.items;
                if (!token.isCancellationRequested && items && items.length > 0) {
                    void refreshStats();
                }
                return result;
            },
        },
    };

    const created = new LanguageClient('hearth', 'Hearth', serverOptions, clientOptions);
    client = created;
    created.onNotification('hearth/modelStatus', (params: ModelStatus) => {
        status.setModel(params);
        if (params.state === 'ready') {
            void refreshStats();
        }
    });
    created.onDidChangeState((event) => {
        if (client !== created) {
            return;
        }
        if (event.newState === State.Running) {
            status.setServer('running');
            void vscode.commands.executeCommand('setContext', 'hearth.active', true);
        } else if (event.newState === State.Starting) {
            status.setServer('starting');
        } else {
            status.setServer('stopped');
            void vscode.commands.executeCommand('setContext', 'hearth.active', false);
        }
    });
    status.setServer('starting');
    try {
        await created.start();
    } catch (err) {
        const message = `the server failed to start: ${errorText(err)}`;
        output.error(message);
        status.setServer('stopped', message);
        void vscode.window
            .showErrorMessage(`Hearth: ${message}`, 'Show Logs', 'Open Settings')
            .then((choice) => {
                if (choice === 'Show Logs') {
                    output.show(true);
                } else if (choice === 'Open Settings') {
                    void vscode.commands.executeCommand('workbench.action.openSettings', 'hearth.server.path');
                }
            });
        return;
    }
    await refreshStatus();
}

async function stopClient(): Promise<void> {
    const old = client;
    client = undefined;
    for (const progress of [...progresses.values()]) {
        progress.end();
    }
    if (old) {
        try {
            await old.stop(2000);
        } catch (err) {
            output.warn(`stopping the server: ${errorText(err)}`);
        }
        await old.dispose().catch(() => undefined);
    }
}

async function restartServer(): Promise<void> {
    output.info('restarting the server');
    await stopClient();
    status.setStats(null);
    await startClient();
}

/** When the user last cancelled the server's work from a progress notification. */
let lastUserCancel = 0;

/**
 * Whether a failed request ended because the user cancelled its progress after it started. The
 * server answers such a request with an error (RequestCancelled, or a message saying so).
 */
function cancelledByUser(err: unknown, started: number): boolean {
    if (err instanceof ResponseError && err.code === LSPErrorCodes.RequestCancelled) {
        return true;
    }
    return lastUserCancel >= started && /cancel/i.test(errorText(err));
}

/** Shows a server error once, as Hearth's message (the server's own "Hearth: " prefix dropped). */
function showServerError(what: string, err: unknown): void {
    const message = errorText(err).replace(/^Hearth: /, '');
    output.error(`${what}: ${message}`);
    void vscode.window.showErrorMessage(`Hearth: ${message}`, 'Show Logs').then((choice) => {
        if (choice) {
            output.show(true);
        }
    });
}

/** The server's cancellable progress shown by `cancellableProgress`, by token. */
const progresses = new Map<ProgressToken, { report: (message?: string) => void; end: () => void }>();

function cancellableProgress(token: ProgressToken, begin: WorkDoneProgressBegin): void {
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    let progress: vscode.Progress<{ message?: string }> | undefined;
    let pending = begin.message;
    progresses.set(token, {
        report: (message) => (progress ? progress.report({ message }) : (pending = message)),
        end: () => {
            progresses.delete(token);
            end();
        },
    });
    void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: begin.title, cancellable: true },
        async (p, cancel) => {
            progress = p;
            p.report({ message: pending });
            const sub = cancel.onCancellationRequested(() => {
                lastUserCancel = Date.now();
                void client?.sendNotification(WorkDoneProgressCancelNotification.type, { token });
            });
            try {
                await ended;
            } finally {
                sub.dispose();
            }
        },
    );
}

/**
 * Forwards the server's log lines (tracing's `TIMESTAMP LEVEL target: message`) to the output channel
 * at their own level; the channel adds its own timestamp. Debug and trace lines (`HEARTH_LOG=debug`)
 * are shown as info, so they are visible without changing the channel's level.
 */
function forwardLines(input: Readable, channel: vscode.LogOutputChannel): void {
    readline.createInterface({ input, crlfDelay: Infinity, terminal: false, historySize: 0 }).on('line', (raw) => {
        // eslint-disable-next-line no-control-regex
        const line = raw.replace(/\x1b\[[0-9;]*m/g, '');
        const match = /^\d{4}-\d\d-\d\dT\S+\s+(TRACE|DEBUG|INFO|WARN|ERROR)\s+(.*)$/.exec(line);
        if (!match) {
            channel.info(line);
        } else if (match[1] === 'ERROR') {
            channel.error(match[2]);
        } else if (match[1] === 'WARN') {
            channel.warn(match[2]);
        } else if (match[1] === 'INFO') {
            channel.info(match[2]);
        } else {
            channel.info(`${match[1]} ${match[2]}`);
        }
    });
}

function errorText(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}

function isMethodNotFound(err: unknown): boolean {
    return err instanceof ResponseError && err.code === ErrorCodes.MethodNotFound;
}

/** Asks the server for its version, the model's state and the completion counters. */
async function refreshStatus(): Promise<void> {
    const c = client;
    if (!c || !c.isRunning()) {
        return;
    }
    try {
        if (hasStatusRequest) {
            const answer = await c.sendRequest<HearthStatus | null>('hearth/status');
            status.setVersion(answer?.version);
            if (answer?.model) {
                status.setModel(answer.model);
            }
            status.setStats(answer?.completion);
        } else {
            status.setStats(await c.sendRequest<CompletionStats | null>('hearth/completionStats'));
        }
    } catch (err) {
        if (hasStatusRequest && isMethodNotFound(err)) {
            hasStatusRequest = false;
            return refreshStatus();
        }
        output.warn(`hearth/status failed: ${errorText(err)}`);
    }
}

/** Refreshes the last completion's latency; at most one request in flight, one more queued. */
async function refreshStats(): Promise<void> {
    if (statsInFlight) {
        statsAgain = true;
        return;
    }
    statsInFlight = true;
    try {
        do {
            statsAgain = false;
            await refreshStatus();
        } while (statsAgain);
    } finally {
        statsInFlight = false;
    }
}

async function toggleAutomatic(): Promise<void> {
    const settings = config();
    const on = !automaticEnabled();
    // Write where the effective value comes from, so the toggle always takes effect.
    const inspected = settings.inspect<boolean>('inline.automatic');
    const target =
        inspected?.workspaceFolderValue !== undefined
            ? vscode.ConfigurationTarget.WorkspaceFolder
            : inspected?.workspaceValue !== undefined
              ? vscode.ConfigurationTarget.Workspace
              : vscode.ConfigurationTarget.Global;
    await settings.update('inline.automatic', on, target);
    status.setAutomatic(on);
    void vscode.window.setStatusBarMessage(
        `Hearth: automatic completions ${on ? 'on' : 'off (Hearth: Trigger Completion still works)'}`,
        3000,
    );
}

async function rewriteSelection(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
        void vscode.window.showWarningMessage('Hearth: open a file and select the code to rewrite.');
        return;
    }
    const c = client;
    if (!c || !c.isRunning()) {
        void vscode.window.showErrorMessage('Hearth: the server is not running.', 'Restart Server').then(
            (choice) => choice && restartServer(),
        );
        return;
    }
    if (!LANGUAGES.includes(editor.document.languageId)) {
        void vscode.window.showWarningMessage(
            `Hearth does not support ${editor.document.languageId} files.`,
        );
        return;
    }
    // No selection: the cursor's line.
    const selection = editor.selection;
    const range = selection.isEmpty ? editor.document.lineAt(selection.active.line).range : selection;
    const instruction = await vscode.window.showInputBox({
        title: 'Hearth: Rewrite Selection',
        prompt: selection.isEmpty ? 'How should the current line change?' : 'How should the selection change?',
        placeHolder: 'e.g. use an iterator instead of the loop',
        ignoreFocusOut: true,
        validateInput: (value) => (value.trim() ? undefined : 'Describe the change'),
    });
    if (!instruction?.trim()) {
        return;
    }
    const args = {
        textDocument: { uri: c.code2ProtocolConverter.asUri(editor.document.uri) },
        range: c.code2ProtocolConverter.asRange(range),
        instruction: instruction.trim(),
    };
    const started = Date.now();
    try {
        // The server shows (cancellable) progress and applies the edit with workspace/applyEdit.
        const applied = (await c.sendRequest(ExecuteCommandRequest.type, {
            command: REWRITE_COMMAND,
            arguments: [args],
        })) as { applied?: boolean; failureReason?: string } | null;
        if (applied && applied.applied === false) {
            void vscode.window.showWarningMessage(
                `Hearth: the rewrite was not applied${applied.failureReason ? `: ${applied.failureReason}` : ''}.`,
            );
        }
    } catch (err) {
        if (!cancelledByUser(err, started)) {
            showServerError('Rewrite Selection failed', err);
        }
    }
}

async function showMenu(): Promise<void> {
    type Item = vscode.QuickPickItem & { run: () => unknown };
    const on = automaticEnabled();
    const items: Item[] = [
        {
            label: on ? '$(debug-pause) Turn Automatic Completions Off' : '$(play) Turn Automatic Completions On',
            run: toggleAutomatic,
        },
        { label: '$(sparkle) Trigger Completion', run: () => vscode.commands.executeCommand('hearth.triggerCompletion') },
        { label: '$(edit) Rewrite Selection with an Instruction', run: rewriteSelection },
        { label: '$(debug-restart) Restart Server', run: restartServer },
        { label: '$(output) Show Logs', run: () => output.show(true) },
        {
            label: '$(gear) Open Settings',
            run: () => vscode.commands.executeCommand('workbench.action.openSettings', '@ext:hearth.hearth'),
        },
    ];
    const picked = await vscode.window.showQuickPick(items, { title: `Hearth: ${status.summary}` });
    await picked?.run();
}

export { INSTALL_HINT };
