// The status bar item: the model's state (loading / ready / error) and the last completion's latency.

import * as vscode from 'vscode';

export type ModelState = 'loading' | 'ready' | 'error' | 'disabled';

/** `hearth/modelStatus` parameters, and the `model` part of `hearth/status`. */
export interface ModelStatus {
    state: ModelState;
    path: string | null;
    message: string | null;
}

/** The `completion` part of `hearth/status` (also the answer of `hearth/completionStats`). */
export interface CompletionStats {
    answered: number;
    skipped: number;
    fromCache: number;
    fromSpeculation: number;
    fromModel: number;
    empty: number;
    superseded: number;
    lastLatencyMs: number | null;
    lastSource: string | null;
}

/** What the client itself knows beyond the model: whether a server runs at all. */
export type ServerState = 'starting' | 'running' | 'stopped' | 'notFound';

export class StatusBar implements vscode.Disposable {
    private readonly item: vscode.StatusBarItem;
    private server: ServerState = 'starting';
    private serverMessage: string | undefined;
    private model: ModelStatus | undefined;
    private stats: CompletionStats | undefined;
    private version: string | undefined;
    private automatic = true;

    constructor() {
        this.item = vscode.window.createStatusBarItem('hearth.status', vscode.StatusBarAlignment.Right, 100);
        this.item.name = 'Hearth';
        this.item.command = 'hearth.showMenu';
        this.render();
        this.item.show();
    }

    setServer(state: ServerState, message?: string): void {
        this.server = state;
        this.serverMessage = message;
        if (state !== 'running') {
            this.model = undefined;
        }
        this.render();
    }

    setModel(status: ModelStatus): void {
        this.model = status;
        this.render();
    }

    setStats(stats: CompletionStats | null | undefined): void {
        this.stats = stats ?? undefined;
        this.render();
    }

    setVersion(version: string | undefined): void {
        this.version = version;
        this.render();
    }

    setAutomatic(on: boolean): void {
        this.automatic = on;
        this.render();
    }

    /** One word for the state, as the status bar shows it; also used by `hearth.showMenu`. */
    get summary(): string {
        if (this.server !== 'running') {
            return this.server === 'notFound' ? 'server not found' : this.server;
        }
        return this.model?.state ?? 'starting';
    }

    private render(): void {
        const item = this.item;
        const latency = this.stats?.lastLatencyMs;
        const latencyText = typeof latency === 'number' ? ` ${Math.round(latency)} ms` : '';
        const manual = this.automatic ? '' : ' $(debug-pause)';
        const tooltip = new vscode.MarkdownString(undefined, true);
        tooltip.appendMarkdown(`**Hearth**${this.version ? ` ${this.version}` : ''}\n\n`);
        item.backgroundColor = undefined;
        let state: string;
        if (this.server === 'notFound' || (this.server === 'stopped' && this.serverMessage)) {
            item.text = '$(error) Hearth';
            item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
            state = this.server === 'notFound' ? 'server not found' : 'server stopped';
            tooltip.appendText(this.serverMessage ?? state);
        } else if (this.server === 'stopped') {
            item.text = '$(debug-disconnect) Hearth';
            state = 'server stopped';
            tooltip.appendText('The server is not running. Click for the menu (Restart Server).');
        } else if (this.server === 'starting' || !this.model || this.model.state === 'loading') {
            item.text = '$(loading~spin) Hearth';
            state = this.server === 'starting' || !this.model ? 'starting' : 'loading';
            tooltip.appendText(
                this.model?.path ? `Loading the model ${this.model.path}` : 'Starting the language server',
            );
        } else if (this.model.state === 'ready') {
            item.text = `Hearth $(check)${latencyText}${manual}`;
            state = 'ready';
            tooltip.appendText(this.model.message ?? 'Model ready');
            if (this.model.path) {
                tooltip.appendText(`\n\n${this.model.path}`);
            }
            if (typeof latency === 'number') {
                tooltip.appendText(
                    `\n\nLast completion: ${Math.round(latency)} ms` +
                        (this.stats?.lastSource ? ` (${this.stats.lastSource})` : ''),
                );
            }
        } else if (this.model.state === 'disabled') {
            item.text = '$(circle-slash) Hearth';
            state = 'disabled';
            tooltip.appendText(this.model.message ?? 'Model loading is disabled (`hearth.model.enabled`).');
        } else {
            item.text = '$(error) Hearth';
            item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
            state = 'error';
            tooltip.appendText(this.model.message ?? 'The model failed to load; see the logs.');
        }
        tooltip.appendMarkdown(
            `\n\nAutomatic completions: ${this.automatic ? 'on' : 'off'}\n\n_Click for Hearth's commands._`,
        );
        item.tooltip = tooltip;
        // Stable, machine-readable text for screen readers (and the end-to-end test).
        item.accessibilityInformation = {
            label: `Hearth: ${state}${latencyText ? `, last completion${latencyText}` : ''}` +
                `${this.automatic ? '' : ', automatic completions off'}`,
        };
    }

    dispose(): void {
        this.item.dispose();
    }
}
