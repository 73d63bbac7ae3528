// Run the Claude Code CLI (`claude -p`) non-interactively against a base URL.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const testsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = path.join(testsDir, 'node_modules/@anthropic-ai/claude-code');

/** The command to launch claude: the native binary the postinstall put in place, else the wrapper. */
export function claudeCommand() {
    const bin = path.join(testsDir, 'node_modules/.bin/claude');
    if (existsSync(bin)) return [bin, []];
    // Fallback when the postinstall did not run: the package's launcher finds the native binary.
    return [process.execPath, [path.join(pkgDir, 'cli-wrapper.cjs')]];
}

/**
 * Resolves { code, signal, stdout, stderr, timedOut, ms }. The child is killed at the deadline.
 * `env` is added to a minimal environment (PATH, a fresh HOME, no ANTHROPIC_* from the caller).
 * `home`: run with this HOME (kept afterwards; e.g. one whose ~/.claude/settings.json a test
 * wrote) instead of a fresh one. Without `baseUrl`, ANTHROPIC_BASE_URL is left to the settings.
 */
export async function runClaude({ baseUrl, home: givenHome, prompt = 'say hi', env = {}, args = [], timeoutMs = 120_000 }) {
    const home = givenHome ?? await mkdtemp(path.join(tmpdir(), 'cc-relay-claude-home-'));
    const [cmd, pre] = claudeCommand();
    const started = Date.now();
    const child = spawn(cmd, [...pre, '-p', prompt, ...args], {
        cwd: home,
        env: {
            PATH: process.env.PATH,
            HOME: home,
            TMPDIR: process.env.TMPDIR ?? tmpdir(),
            ...(baseUrl ? { ANTHROPIC_BASE_URL: baseUrl } : {}),
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
            DISABLE_AUTOUPDATER: '1',
            DISABLE_TELEMETRY: '1',
            ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    const onExit = () => child.kill('SIGKILL');
    process.once('exit', onExit);
    const [code, signal] = await new Promise((resolve) => child.on('close', (c, s) => resolve([c, s])));
    clearTimeout(timer);
    process.removeListener('exit', onExit);
    if (!givenHome) await rm(home, { recursive: true, force: true });
    return { code, signal, stdout, stderr, timedOut, ms: Date.now() - started };
}

export function describeRun(r) {
    return `claude exited ${r.code}${r.signal ? ` (${r.signal})` : ''}${r.timedOut ? ' after the timeout' : ''}` +
        ` in ${r.ms} ms\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}
