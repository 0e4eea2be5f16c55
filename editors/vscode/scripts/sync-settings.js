#!/usr/bin/env node
// Keeps package.json's `contributes.configuration.properties` in step with the server's own settings.
//
// The server is the one source of truth: `hearth settings-schema` prints a JSON object whose keys are
// the VS Code setting names ("hearth.model.path", ...) and whose values are JSON-schema property
// objects. This script replaces the server's settings in package.json with that output and keeps the
// extension's own settings (hearth.server.*, hearth.inline.*, hearth.trace.*), which the server never
// sees.
//
//   node scripts/sync-settings.js           rewrite package.json
//   node scripts/sync-settings.js --check   exit 1, listing the differences, if package.json is stale
//
// The binary is $HEARTH_BIN, else the repository's target/release/hearth.

'use strict';

const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const packageJson = path.join(root, 'package.json');
const settingsTs = path.join(root, 'src', 'settings.ts');
const bin = process.env.HEARTH_BIN || path.resolve(root, '..', '..', 'target', 'release', 'hearth');
const check = process.argv.includes('--check');

function fail(message) {
    console.error(`sync-settings: ${message}`);
    process.exit(2);
}

/** The `as const` string array named `name` in src/settings.ts. */
function sectionsFromSource(name) {
    const source = fs.readFileSync(settingsTs, 'utf8');
    const match = source.match(new RegExp(`export const ${name} = \\[([^\\]]*)\\]`));
    if (!match) {
        fail(`${name} not found in ${settingsTs}`);
    }
    return [...match[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
}

const serverSections = sectionsFromSource('SERVER_SECTIONS');
const clientSections = sectionsFromSource('CLIENT_SECTIONS');
const sectionOf = (key) => key.split('.')[1];

if (!fs.existsSync(bin)) {
    fail(`${bin} does not exist: build it with \`cargo build --release -p hearth\` or set HEARTH_BIN`);
}
let schema;
try {
    schema = JSON.parse(execFileSync(bin, ['settings-schema'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
} catch (err) {
    fail(`\`${bin} settings-schema\` failed: ${err.message}`);
}
if (!schema || typeof schema !== 'object' || Array.isArray(schema)) {
    fail('`hearth settings-schema` did not print a JSON object');
}
for (const key of Object.keys(schema)) {
    if (!key.startsWith('hearth.')) {
        fail(`the server's setting ${JSON.stringify(key)} does not start with "hearth."`);
    }
    if (clientSections.includes(sectionOf(key))) {
        fail(`the server's setting ${key} clashes with the extension's own hearth.${sectionOf(key)}.* settings`);
    }
    if (!serverSections.includes(sectionOf(key))) {
        fail(`the server's setting ${key} is in section "${sectionOf(key)}", which src/settings.ts ` +
            `(SERVER_SECTIONS) does not send to the server: add it there`);
    }
}

const pkg = JSON.parse(fs.readFileSync(packageJson, 'utf8'));
const current = pkg.contributes.configuration.properties;
const next = {};
for (const [key, value] of Object.entries(current)) {
    if (clientSections.includes(sectionOf(key))) {
        next[key] = value;
    }
}
Object.assign(next, schema);

const canonical = (value) => JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v);
const differences = [];
for (const key of new Set([...Object.keys(current), ...Object.keys(next)])) {
    if (!(key in next)) {
        differences.push(`- ${key} (in package.json, not a server setting)`);
    } else if (!(key in current)) {
        differences.push(`+ ${key} ${JSON.stringify(next[key])}`);
    } else if (canonical(current[key]) !== canonical(next[key])) {
        differences.push(`~ ${key}\n    package.json: ${JSON.stringify(current[key])}\n    server:       ${JSON.stringify(next[key])}`);
    }
}
const sameOrder = Object.keys(current).join('\n') === Object.keys(next).join('\n');

if (check) {
    if (differences.length > 0 || !sameOrder) {
        console.error('sync-settings: package.json differs from `hearth settings-schema`:');
        for (const line of differences) {
            console.error(`  ${line}`);
        }
        if (differences.length === 0) {
            console.error('  (the settings are in a different order)');
        }
        console.error('run `npm run sync-settings` in editors/vscode to update it');
        process.exit(1);
    }
    console.log(`sync-settings: package.json matches the server's ${Object.keys(schema).length} settings`);
    process.exit(0);
}

if (differences.length === 0 && sameOrder) {
    console.log('sync-settings: package.json is up to date');
} else {
    pkg.contributes.configuration.properties = next;
    fs.writeFileSync(packageJson, `${JSON.stringify(pkg, null, 2)}\n`);
    for (const line of differences) {
        console.log(`  ${line}`);
    }
    console.log(`sync-settings: wrote ${Object.keys(schema).length} server settings into package.json`);
}
