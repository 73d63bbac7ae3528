// Helpers for the prefork-master tests (tests/integration/master-*.test.mjs): the relay's CLI
// commands, its process tree, a load generator, a $NOTIFY_SOCKET listener, and stream clients.
// The relay itself is started with startRelay() from ./relay.mjs and the backend is the mock from
// ../mocks/backend.mjs; nothing here duplicates them.
//
//   const cfg = masterConfig(backend, { server: { workers: 2 } });   // fixed shm_name for the CLI
//   const relay = await startRelay(cfg);
//   const s = await statsJson(relay);                    // `cc-relay stats --json --workers`
//   const r = await runCli(['reload', '--config', relay.configFile]);  // {code, stdout, stderr}
//   const load = startLoad(relay.url, { concurrency: 4 }); ...; const res = await load.stop();
//   const notify = await startNotifyListener();          // notify.path → NOTIFY_SOCKET
//
// Every wait here has a deadline; nothing sleeps as a means of synchronisation.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { messagesBody, waitFor, withDeadline } from './http.mjs';
import { DEFAULT_CONFIG, RELAY_BIN, deepMerge, keepSanitizerReport, mockProvider } from './relay.mjs';

export { waitFor, withDeadline };

/** A unique shared-memory segment name, so `cc-relay stats/status/reload --config` find the instance. */
export function uniqueShmName() {
    return `/ccr-test-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * A config object for startRelay(): one mock provider, a fixed shm_name, a short drain window.
 * `over` is deep-merged over it (and then over relay.mjs's DEFAULT_CONFIG by startRelay).
 */
export function masterConfig(backend, over = {}) {
    return deepMerge({
        server: { shm_name: uniqueShmName(), drain_timeout_ms: 3000, workers: 2 },
        providers: [mockProvider(backend)],
    }, over);
}

/** The full config text startRelay writes for `config` (to rewrite the file for a reload). */
export function configText(config) {
    return JSON.stringify(deepMerge(DEFAULT_CONFIG, config), null, 2) + '\n';
}

/** Rewrite a running relay's config file (object → JSON, string as is). */
export async function rewriteConfig(relay, config) {
    await writeFile(relay.configFile, typeof config === 'string' ? config : configText(config));
}

/**
 * Run `cc-relay <args>` and collect its output. Resolves { code, signal, stdout, stderr, timedOut, ms }.
 * When it has not exited within timeoutMs it is stopped (SIGTERM, then SIGKILL) and the promise
 * rejects, or with `resolveOnTimeout` resolves once it has exited (timedOut: true).
 * `uid`/`gid` run it as another user (root only).
 */
export function runCli(args, {
    timeoutMs = 15_000, env = {}, cwd, resolveOnTimeout = false, uid, gid,
} = {}) {
    return new Promise((resolve, reject) => {
        const started = Date.now();
        const child = spawn(RELAY_BIN, args, {
            cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
            uid, gid, // as another user (the tests run as root)
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        let timedOut = false;
        let killer;
        const timer = setTimeout(() => {
            timedOut = true;
            // SIGTERM first (a serve that did start removes its segment), SIGKILL if that fails.
            try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
            killer = setTimeout(() => {
                try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
            }, 5000);
            if (!resolveOnTimeout) {
                reject(new Error(`cc-relay ${args.join(' ')}: no exit within ${timeoutMs} ms\n` +
                    `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
            }
        }, timeoutMs);
        child.on('error', (err) => { clearTimeout(timer); reject(err); });
        child.on('close', (code, signal) => {
            keepSanitizerReport(`cc-relay ${args.join(' ')}`, stderr);
            clearTimeout(timer);
            clearTimeout(killer);
            resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - started });
        });
    });
}

/** `cc-relay stats --json --workers --config <relay's config>`, parsed. */
export async function statsJson(relay) {
    const r = await runCli(['stats', '--json', '--workers', '--config', relay.configFile]);
    if (r.code !== 0) {
        throw new Error(`cc-relay stats exited ${r.code}\n${r.stderr}\n--- relay log ---\n${relay.logs().slice(-3000)}`);
    }
    try {
        return JSON.parse(r.stdout);
    } catch (err) {
        throw new Error(`cc-relay stats --json printed no JSON (${err.message}):\n${r.stdout}`);
    }
}

/** Live workers of the current generation in a stats object. */
export function currentWorkers(stats) {
    return stats.workers.filter((w) => w.alive && w.generation === stats.generation);
}

/** Is the process alive (and not a zombie)? */
export function pidAlive(pid) {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
        return state !== 'Z' && state !== 'X';
    } catch {
        return false;
    }
}

/** Pids of the live (non-zombie) children of `pid`, from /proc. */
export function childPids(pid) {
    const out = [];
    for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        let stat;
        try { stat = readFileSync(`/proc/${name}/stat`, 'utf8'); } catch { continue; }
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[1]) === pid && fields[0] !== 'Z' && fields[0] !== 'X') out.push(Number(name));
    }
    return out.sort((a, b) => a - b);
}

/**
 * Local TCP sockets on this machine whose remote port is `port`, by state name, from
 * /proc/net/tcp and tcp6 (loopback tests: the relay's connections to a mock listening on `port`).
 */
export function tcpToPort(port) {
    const names = { '01': 'ESTABLISHED', '06': 'TIME_WAIT', '07': 'CLOSE', '08': 'CLOSE_WAIT', '09': 'LAST_ACK' };
    const out = {};
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
        let text;
        try { text = readFileSync(file, 'utf8'); } catch { continue; }
        for (const line of text.split('\n').slice(1)) {
            const f = line.trim().split(/\s+/);
            if (f.length < 4 || parseInt(f[2].split(':')[1], 16) !== port) continue;
            const state = names[f[3]] ?? f[3];
            out[state] = (out[state] ?? 0) + 1;
        }
    }
    return out;
}

/** Resolve with { code, signal } when the relay's master exits, or reject after timeoutMs. */
export function waitForExit(relay, timeoutMs) {
    const p = relay.exited() ? Promise.resolve(relay.exited())
        : new Promise((resolve) => relay.proc.once('exit', (code, signal) => resolve({ code, signal })));
    return withDeadline(p, timeoutMs, `cc-relay master exit\n--- log ---\n${relay.logs().slice(-3000)}`);
}

/** Does /dev/shm hold the segment `name` ("/ccr-test-...")? */
export function segmentExists(name) {
    return existsSync(path.join('/dev/shm', name.replace(/^\//, '')));
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort() {
    const srv = net.createServer();
    await new Promise((resolve, reject) => { srv.once('error', reject); srv.listen(0, '127.0.0.1', resolve); });
    const { port } = srv.address();
    await new Promise((r) => srv.close(r));
    return port;
}

const LOAD_BODY = JSON.stringify(messagesBody('claude-sonnet-4-5'));

/** One POST /v1/messages with the given agent; resolves {status, body} or rejects on a network error. */
export function postMessage(baseUrl, { agent, body = LOAD_BODY, timeoutMs = 10_000 } = {}) {
    const u = new URL(baseUrl + '/v1/messages');
    const p = new Promise((resolve, reject) => {
        const req = http.request({
            host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: agent ?? false,
            headers: {
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(body),
                'anthropic-version': '2023-06-01',
            },
        }, (res) => {
            const chunks = [];
            res.on('data', (d) => chunks.push(d));
            res.on('end', () => {
                if (!res.complete) reject(new Error('response incomplete'));
                else resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) });
            });
            res.on('aborted', () => reject(new Error('response aborted')));
            res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
    });
    return withDeadline(p, timeoutMs, `POST ${u}`);
}

/**
 * A load generator: `concurrency` loops each sending POST /v1/messages one after the other, over
 * `agent` (a keep-alive http.Agent is made when `keepAlive`; agent:false opens a fresh connection
 * per request). Stops at stop(), or after maxRequests / durationMs. Results:
 *   { ok, failed, total, inFlight, errors: [{at, message}], statuses: {code: n}, connectionClose, log }
 * A request counts as ok when the answer is a complete 200.
 */
export function startLoad(baseUrl, {
    concurrency = 4, keepAlive = true, maxRequests = Infinity, durationMs = Infinity,
    requestTimeoutMs = 10_000, body = LOAD_BODY,
} = {}) {
    const agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: concurrency }) : false;
    const started = Date.now();
    const res = { ok: 0, failed: 0, total: 0, inFlight: 0, errors: [], statuses: {}, connectionClose: 0, log: [] };
    let stopped = false;
    let issued = 0;
    const listeners = new Set();
    const loop = async () => {
        while (!stopped && issued < maxRequests && Date.now() - started < durationMs) {
            issued++;
            res.inFlight++;
            const t0 = Date.now();
            try {
                const r = await postMessage(baseUrl, { agent, body, timeoutMs: requestTimeoutMs });
                res.statuses[r.status] = (res.statuses[r.status] ?? 0) + 1;
                if (r.headers.connection === 'close') res.connectionClose++;
                if (r.status === 200) res.ok++;
                else {
                    res.failed++;
                    res.errors.push({ at: t0 - started, message: `status ${r.status}: ${r.body.toString().slice(0, 300)}` });
                }
                res.log.push({ start: t0, end: Date.now(), ok: r.status === 200 });
            } catch (err) {
                res.failed++;
                res.errors.push({ at: t0 - started, failedAt: Date.now() - started, message: err.message });
                res.log.push({ start: t0, end: Date.now(), ok: false, error: err.message });
            }
            res.inFlight--;
            res.total++;
            for (const l of [...listeners]) l();
        }
    };
    const loops = Array.from({ length: concurrency }, loop);
    const all = Promise.all(loops);
    return {
        results: res,
        /** Resolves when `pred(results)` holds (checked after each request), or rejects after timeoutMs. */
        until(pred, timeoutMs, what = 'load condition') {
            return withDeadline(new Promise((resolve) => {
                const check = () => { if (pred(res)) { listeners.delete(check); resolve(res); } };
                listeners.add(check);
                check();
                all.then(() => { listeners.delete(check); resolve(res); });
            }), timeoutMs, what);
        },
        done: all.then(() => res),
        async stop(timeoutMs = 15_000) {
            stopped = true;
            await withDeadline(all, timeoutMs, 'load generator stop');
            if (agent) agent.destroy();
            return res;
        },
    };
}

/**
 * Start a streaming request and collect it. Resolves (via `.result`) with
 * { status, body (Buffer), complete (the chunked body ended properly), aborted, error }.
 * `.firstByte` resolves when the first body byte arrives; `.abort()` closes the connection.
 */
export function openStream(baseUrl, model, { timeoutMs = 20_000, agent = false, headers = {} } = {}) {
    const body = JSON.stringify(messagesBody(model, { stream: true }));
    let onFirst;
    const firstByte = new Promise((r) => { onFirst = r; });
    const started = Date.now();
    let req;
    const result = new Promise((resolve) => {
        const u = new URL(baseUrl + '/v1/messages');
        const chunks = [];
        let settled = false;
        const finish = (extra) => {
            if (settled) return;
            settled = true;
            resolve({ body: Buffer.concat(chunks), endedAt: Date.now(), elapsedMs: Date.now() - started, ...extra });
        };
        req = http.request({
            host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent,
            headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
        }, (res) => {
            res.on('data', (d) => { chunks.push(d); onFirst(Date.now()); });
            res.on('end', () => finish({ status: res.statusCode, headers: res.headers, complete: res.complete, aborted: !res.complete }));
            res.on('aborted', () => finish({ status: res.statusCode, headers: res.headers, complete: false, aborted: true }));
            res.on('error', (err) => finish({ status: res.statusCode, headers: res.headers, complete: false, aborted: true, error: err.message }));
        });
        req.on('error', (err) => finish({ status: 0, complete: false, aborted: true, error: err.message }));
        req.end(body);
    });
    return {
        firstByte: withDeadline(firstByte, timeoutMs, 'first stream byte'),
        result: withDeadline(result, timeoutMs, 'stream end'),
        /** Close the client's connection (the stream then ends as aborted). */
        abort() { req.destroy(); },
    };
}

const NOTIFY_PY = String.raw`
import socket, struct, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # learn the sender's pid, as systemd does
s.bind(("\0" + path[1:]) if path.startswith("@") else path)
print("BOUND", flush=True)
if len(sys.argv) > 2 and sys.argv[2] == "noread":  # a reader that never drains its queue
    import time
    while True:
        time.sleep(3600)
while True:
    data, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(12))
    pid = 0
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", payload[:12])[0]
    # One datagram per line; the payload's own newlines (multi-assignment) become "\n".
    text = data.decode("utf-8", "replace").replace("\\", "\\\\").replace("\n", "\\n")
    print("MSG %d %s" % (pid, text), flush=True)
`;

/**
 * A $NOTIFY_SOCKET receiver: a python3 child binding an AF_UNIX datagram socket (node has none).
 * { path, messages: [string], senders: [pid], waitFor(pred|string, timeoutMs, fromIndex), close() }.
 * `abstract: true` binds an abstract name ('@...'); `read: false` never reads (the kernel queues
 * ~10 datagrams, then a blocking sender would stall).
 */
export async function startNotifyListener({ abstract = false, read = true } = {}) {
    const dir = await mkdtemp(path.join(tmpdir(), 'cc-relay-notify-'));
    const sockPath = abstract ? `@cc-relay-test-${process.pid}-${randomBytes(4).toString('hex')}`
        : path.join(dir, 'notify.sock');
    const child = spawn('python3', ['-u', '-c', NOTIFY_PY, sockPath, ...(read ? [] : ['noread'])],
        { stdio: ['ignore', 'pipe', 'pipe'] });
    const messages = [];
    const senders = []; // sender pid of each message (SCM_CREDENTIALS)
    const waiters = new Set();
    let buf = '';
    let stderr = '';
    let bound;
    const boundP = new Promise((r) => { bound = r; });
    child.stdout.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (line === 'BOUND') bound();
            else if (line.startsWith('MSG ')) {
                const sp = line.indexOf(' ', 4);
                senders.push(Number(line.slice(4, sp)));
                messages.push(line.slice(sp + 1).replace(/\\n/g, '\n').replace(/\\\\/g, '\\'));
                for (const w of [...waiters]) w();
            }
        }
    });
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((r) => child.on('exit', r));
    await withDeadline(Promise.race([boundP, exited.then(() => {
        throw new Error(`notify listener exited: ${stderr}`);
    })]), 5000, 'notify listener bind');
    return {
        path: sockPath,
        messages,
        senders,
        /** Resolve with the index of the first message at or after `from` matching pred/string. */
        waitFor(match, timeoutMs = 5000, from = 0) {
            const pred = typeof match === 'function' ? match : (m) => m.split('\n').includes(match);
            return withDeadline(new Promise((resolve) => {
                const check = () => {
                    for (let i = from; i < messages.length; i++) {
                        if (pred(messages[i])) { waiters.delete(check); resolve(i); return; }
                    }
                };
                waiters.add(check);
                check();
            }), timeoutMs, `notify message ${match} (got ${JSON.stringify(messages)})`);
        },
        async close() {
            child.kill('SIGKILL');
            await withDeadline(exited, 5000, 'notify listener exit');
            await rm(dir, { recursive: true, force: true });
        },
    };
}
