// Finding the `hearth` executable: the `hearth.server.path` setting, else `hearth` on PATH.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';

export type ServerLookup =
    | { ok: true; command: string; source: 'setting' | 'PATH' }
    | { ok: false; message: string };

export const INSTALL_HINT =
    'Build it with `cargo build --release -p hearth` in the Hearth repository (the binary is ' +
    '`target/release/hearth`), then put it on your PATH or set `hearth.server.path` to it. ' +
    'The default model is installed by `scripts/fetch-model`.';

function isExecutableFile(file: string): boolean {
    try {
        if (!fs.statSync(file).isFile()) {
            return false;
        }
        if (process.platform !== 'win32') {
            fs.accessSync(file, fs.constants.X_OK);
        }
        return true;
    } catch {
        return false;
    }
}

/** Expands `~` and `${workspaceFolder}`, and resolves a relative path against the first workspace folder. */
function expand(setting: string): string {
    let value = setting.trim();
    if (value === '~' || value.startsWith('~/')) {
        value = path.join(os.homedir(), value.slice(1));
    }
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (folder) {
        value = value.replace(/\$\{workspaceFolder\}/g, folder);
        if (!path.isAbsolute(value) && (value.includes('/') || value.includes(path.sep))) {
            value = path.resolve(folder, value);
        }
    }
    return value;
}

/** Looks `name` up on PATH, as a shell would. */
export function onPath(name: string): string | undefined {
    const exts = process.platform === 'win32'
        ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').map((e) => e.toLowerCase())
        : [''];
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
        if (!dir) {
            continue;
        }
        for (const ext of exts) {
            const candidate = path.join(dir, name + ext);
            if (isExecutableFile(candidate)) {
                return candidate;
            }
        }
    }
    return undefined;
}

export function findServer(config: vscode.WorkspaceConfiguration): ServerLookup {
    const configured = config.get<string>('server.path', '').trim();
    if (configured) {
        const expanded = expand(configured);
        // A bare name ("hearth", "hearth-dev") is looked up on PATH.
        if (!expanded.includes('/') && !expanded.includes(path.sep)) {
            const found = onPath(expanded);
            if (found) {
                return { ok: true, command: found, source: 'setting' };
            }
            return {
                ok: false,
                message: `\`hearth.server.path\` is "${configured}", which is not on PATH. ${INSTALL_HINT}`,
            };
        }
        if (isExecutableFile(expanded)) {
            return { ok: true, command: expanded, source: 'setting' };
        }
        return {
            ok: false,
            message: `\`hearth.server.path\` is "${configured}", which is not an executable file. ${INSTALL_HINT}`,
        };
    }
    const found = onPath('hearth');
    if (found) {
        return { ok: true, command: found, source: 'PATH' };
    }
    return { ok: false, message: `The Hearth language server (\`hearth\`) was not found on PATH. ${INSTALL_HINT}` };
}
