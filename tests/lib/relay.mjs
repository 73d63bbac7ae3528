// Start the real cc-relay binary for a test.
//
//   const relay = await startRelay({ providers: [...] }, { env, args });
//   // relay.url, relay.port, relay.proc, relay.logs(), await relay.waitForLog(/re/), await relay.stop()
//
// The config is a YAML string (written as is) or an object, deep-merged over the defaults below
// and written as JSON (which is YAML). The binary is $CC_RELAY_BIN, else
// ../build/release/cli/cc-relay relative to tests/ (../build/dev/cli/cc-relay when there is no
// release build). Readiness is the log line
// "listening on http://HOST:PORT"; the port is ephemeral (server.listen 127.0.0.1:0).
// The relay runs in its own process group; stop() sends SIGTERM to it and SIGKILLs the group
// after 10 s; at process exit every group still alive is killed.

import { spawn } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach } from 'node:test';
import { fileURLToPath } from 'node:url';

import { startBackend } from '../mocks/backend.mjs';

const testsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function defaultBinary() {
    const release = path.resolve(testsDir, '../build/release/cli/cc-relay');
    const dev = path.resolve(testsDir, '../build/dev/cli/cc-relay');
    if (!existsSync(release) && existsSync(dev)) {
        process.stderr.write(`# cc-relay: ${release} not found, using ${dev}\n`);
        return dev;
    }
    return release;
}

export const RELAY_BIN = process.env.CC_RELAY_BIN
    ? path.resolve(process.env.CC_RELAY_BIN)
    : defaultBinary();

const LISTENING_RE = /listening on http:\/\/([^\s]+):(\d+)/;

// A sanitizer report on the relay's stderr (scripts/test.sh's asan pass). ASan and LeakSanitizer
// write theirs to ASAN_OPTIONS' log_path, but GCC's UBSan runtime ignores log_path and writes to
// stderr, where a test that passes never looks; so the output of every relay and CLI command is
// scanned when it closes and, with $CCR_SANITIZER_LOGS set, a report is copied into that folder,
// which test.sh requires to be empty at the end.
const SANITIZER_RE = /^(==\d+==ERROR: |.*: runtime error: )/m;

/** Copy `output` into $CCR_SANITIZER_LOGS when it holds a sanitizer report. */
export function keepSanitizerReport(what, output) {
    const dir = process.env.CCR_SANITIZER_LOGS;
    if (!dir || !SANITIZER_RE.test(output)) return;
    appendFileSync(path.join(dir, `stderr.${process.pid}`), `== ${what}\n${output}\n`);
}
const live = new Set();

process.on('exit', () => {
    for (const child of live) {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
        try { child.kill('SIGKILL'); } catch { /* already gone */ }
    }
});

export const DEFAULT_CONFIG = Object.freeze({
    server: { listen: '127.0.0.1:0', drain_timeout_ms: 1000 },
    // Tests that use the usage ledger give it a path of their own; the rest keep the runner's
    // ~/.local/state clean.
    ledger: { enabled: false },
    logging: { level: 'info', format: 'text', output: 'stderr' },
    routing: { strategy: 'failover', debug: false },
});

function isPlainObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function deepMerge(base, over) {
    if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
    const out = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
    return out;
}

/** A provider entry pointing at a mock backend. */
export function mockProvider(backend, extra = {}) {
    return { name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url, ...extra };
}

export async function startRelay(config, { env = {}, args = [], readyTimeoutMs = 15_000 } = {}) {
    if (!existsSync(RELAY_BIN)) {
        throw new Error(`cc-relay binary not found at ${RELAY_BIN} ` +
            '(build it, or set CC_RELAY_BIN to its path)');
    }
    const dir = await mkdtemp(path.join(tmpdir(), 'cc-relay-test-'));
    const configFile = path.join(dir, 'config.yaml');
    const text = typeof config === 'string'
        ? config
        : JSON.stringify(deepMerge(DEFAULT_CONFIG, config ?? {}), null, 2) + '\n';
    await writeFile(configFile, text);

    const proc = spawn(RELAY_BIN, ['serve', '--config', configFile, ...args], {
        cwd: dir,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // own process group: workers die with it
    });
    live.add(proc);
    let output = '';
    const logWaiters = new Set();
    const onData = (d) => {
        output += d.toString('utf8');
        for (const w of [...logWaiters]) w.check();
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    let exited = null;
    proc.on('error', (err) => { // e.g. EACCES while the binary is being relinked
        output += `\n[spawn error] ${err.message}\n`;
        exited ??= { code: null, signal: null, error: err.message };
        live.delete(proc);
        for (const w of [...logWaiters]) w.check();
    });
    proc.on('close', () => keepSanitizerReport(`cc-relay serve (${configFile})`, output));
    const exitPromise = new Promise((resolve) => {
        proc.on('exit', (code, signal) => {
            exited = { code, signal };
            live.delete(proc);
            for (const w of [...logWaiters]) w.check();
            resolve(exited);
        });
    });

    const waitForLog = (re, timeoutMs = 5000) => new Promise((resolve, reject) => {
        const w = {
            check() {
                const m = output.match(re);
                if (m) { done(); resolve(m); } else if (exited) {
                    done();
                    reject(new Error(`cc-relay exited (${JSON.stringify(exited)}) before logging ${re}\n` +
                        `--- config ---\n${text}--- log ---\n${output}`));
                }
            },
        };
        const timer = setTimeout(() => {
            done();
            reject(new Error(`cc-relay did not log ${re} within ${timeoutMs} ms\n--- log ---\n${output}`));
        }, timeoutMs);
        const done = () => { clearTimeout(timer); logWaiters.delete(w); };
        logWaiters.add(w);
        w.check();
    });

    const stop = async () => {
        if (!exited) {
            try { process.kill(proc.pid, 'SIGTERM'); } catch { /* gone */ }
            const killer = setTimeout(() => {
                try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ }
            }, 10_000);
            await exitPromise;
            clearTimeout(killer);
        }
        // Reap stray workers of the group, if any survived their master.
        try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* none left */ }
        await rm(dir, { recursive: true, force: true });
        return exited;
    };

    let m;
    try {
        m = await waitForLog(LISTENING_RE, readyTimeoutMs);
    } catch (err) {
        await stop();
        throw err;
    }
    const host = m[1];
    const port = Number(m[2]);
    return {
        url: `http://${host}:${port}`,
        host,
        port,
        proc,
        configFile,
        configText: text,
        logs: () => output,
        waitForLog,
        exited: () => exited,
        stop,
    };
}

/**
 * Start a relay and register its cleanup on the test context (t.after / suite after).
 * `after` is node:test's `after` or a TestContext's `t.after`.
 */
export async function useRelay(after, config, opts) {
    const relay = await startRelay(config, opts);
    after(() => relay.stop());
    return relay;
}

/**
 * The usual suite set-up, called inside a `describe`: a mock backend and a relay in front of it,
 * started before the suite's tests, the backend's records reset before each test, both stopped
 * after. `config(backend)` gives the relay config (default: one keyless anthropic provider);
 * `set(backend, relay)` receives them once started.
 */
export function relayOverMock(set, config = (backend) => ({ providers: [mockProvider(backend)] }), opts) {
    let backend;
    let relay;
    before(async () => {
        backend = await startBackend();
        relay = await startRelay(config(backend), opts);
        set(backend, relay);
    });
    beforeEach(() => backend.reset());
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });
}

/**
 * Starts `count` mock backends before the suite and closes them after it; `set(list)` receives
 * them once they run (for suites that start a relay per test).
 */
export function suiteBackends(count, set) {
    const list = [];
    before(async () => {
        for (let i = 0; i < count; ++i) list.push(await startBackend());
        set(list);
    });
    after(async () => {
        for (const b of list) await b.close();
    });
}
