// Which of the `hearth.*` settings belong to the server.
//
// The server's settings (`hearth.model.*`, `hearth.completion.*`, ...) are declared in package.json
// from the server's own schema (`hearth settings-schema`, see scripts/sync-settings.js). The
// extension's own settings (`hearth.server.*`, `hearth.inline.*`, `hearth.trace.*`) are never sent:
// the server reports keys it does not know.

/** Top-level keys of the server's settings object. Keep in step with scripts/sync-settings.js. */
export const SERVER_SECTIONS = ['model', 'documents', 'completion', 'fim'] as const;

/** Top-level keys of the extension's own settings, never sent to the server. */
export const CLIENT_SECTIONS = ['server', 'inline', 'trace'] as const;

/**
 * The server's part of a `hearth` settings object: only its sections, with `null` values and empty
 * strings (VS Code's "unset" for optional settings) dropped so the server applies its own defaults.
 */
export function serverSettings(hearth: unknown): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (!hearth || typeof hearth !== 'object') {
        return out;
    }
    const source = hearth as Record<string, unknown>;
    for (const key of SERVER_SECTIONS) {
        const value = withoutNulls(source[key]);
        if (value !== undefined) {
            out[key] = value;
        }
    }
    return out;
}

function withoutNulls(value: unknown): unknown {
    if (value === null || value === undefined || value === '') {
        return undefined;
    }
    if (Array.isArray(value) || typeof value !== 'object') {
        return value;
    }
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
        const cleaned = withoutNulls(inner);
        if (cleaned !== undefined) {
            out[key] = cleaned;
        }
    }
    return out;
}
