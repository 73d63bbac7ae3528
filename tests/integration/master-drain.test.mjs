// Drain (issue 7): a stop (SIGTERM) closes keep-alive connections with no request in flight at
// once and exits as soon as the last request is answered; a reload's drain leaves them open and
// answers their next request with Connection: close; a stream still running when the window ends
// gets a terminal `event: error` (overloaded_error), a clean chunked end and an access-log line.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';

import { parseSse } from '../lib/http.mjs';
import { masterConfig, openStream, runCli, statsJson, waitForExit } from '../lib/process.mjs';
import { startRelay } from '../lib/relay.mjs';
import { mockModel, startBackend } from '../mocks/backend.mjs';

/**
 * One client connection kept alive between requests. request(raw) resolves with the next complete
 * response (Content-Length framed) or rejects when the server closes first; closed resolves with
 * the time the server closed the connection.
 */
async function keepAliveConnection(port) {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let isClosed = false;
    let waiter = null;
    let onClosed;
    const closed = new Promise((r) => { onClosed = r; });
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); waiter?.(); });
    sock.on('close', () => { isClosed = true; onClosed(Date.now()); waiter?.(); });
    sock.on('error', () => { /* seen as the close that follows */ });
    await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
    return {
        closed,
        isClosed: () => isClosed,
        request(raw, timeoutMs = 5000) {
            return new Promise((resolve, reject) => {
                const timer = setTimeout(() => { waiter = null; reject(new Error('no response in time')); }, timeoutMs);
                waiter = () => {
                    const text = buf.toString('latin1');
                    const end = text.indexOf('\r\n\r\n');
                    if (end >= 0) {
                        const head = text.slice(0, end);
                        const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
                        if (buf.length >= end + 4 + len) {
                            const headers = {};
                            for (const l of head.split('\r\n').slice(1)) {
                                const c = l.indexOf(':');
                                headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
                            }
                            const status = Number(head.slice(9, 12));
                            const body = buf.subarray(end + 4, end + 4 + len).toString('utf8');
                            buf = buf.subarray(end + 4 + len);
                            clearTimeout(timer);
                            waiter = null;
                            resolve({ status, headers, body });
                            return;
                        }
                    }
                    if (isClosed) {
                        clearTimeout(timer);
                        waiter = null;
                        reject(new Error('the server closed the connection before answering'));
                    }
                };
                sock.write(raw);
                waiter();
            });
        },
        destroy() { sock.destroy(); },
    };
}

const HEALTH = 'GET /health HTTP/1.1\r\nHost: relay\r\n\r\n';

describe('drain: stop and reload', { timeout: 90_000 }, () => {
    let backend;
    before(async () => { backend = await startBackend(); });
    after(async () => { await backend?.close(); });

    it('SIGTERM with one idle keep-alive connection: the connection closes and the master exits at once', async (t) => {
        const cfg = masterConfig(backend, { server: { workers: 1, drain_timeout_ms: 20_000 } });
        const relay = await startRelay(cfg);
        t.after(() => relay.stop());
        const conn = await keepAliveConnection(relay.port);
        t.after(() => conn.destroy());
        const r = await conn.request(HEALTH);
        assert.equal(r.status, 200);
        assert.notEqual(r.headers.connection, 'close', 'kept alive');

        const t0 = Date.now();
        process.kill(relay.proc.pid, 'SIGTERM');
        const exit = await waitForExit(relay, 10_000);
        const took = Date.now() - t0;
        assert.deepEqual(exit, { code: 0, signal: null }, relay.logs().slice(-2000));
        assert.ok(took < 3000, `master exited ${took} ms after SIGTERM (drain window 20 s)\n${relay.logs().slice(-2000)}`);
        const closedAt = await conn.closed;
        assert.ok(closedAt - t0 < 3000, 'the idle connection was closed by the relay');
    });

    it('SIGTERM: idle connections close at once, a stream in flight completes, then the master exits', async (t) => {
        const cfg = masterConfig(backend, { server: { workers: 1, drain_timeout_ms: 20_000 } });
        const relay = await startRelay(cfg);
        t.after(() => relay.stop());
        const idle = await keepAliveConnection(relay.port);
        t.after(() => idle.destroy());
        assert.equal((await idle.request(HEALTH)).status, 200);

        const model = mockModel('sse', { events: 8, delay: 200, tag: 'stop-inflight' });
        const st = openStream(relay.url, model, { timeoutMs: 15_000 });
        await st.firstByte;
        const t0 = Date.now();
        process.kill(relay.proc.pid, 'SIGTERM');
        const [res, exit, idleClosedAt] = await Promise.all([st.result, waitForExit(relay, 10_000), idle.closed]);
        const exitedAt = Date.now();
        const log = relay.logs().slice(-3000);

        assert.equal(res.status, 200);
        assert.ok(res.complete, `the stream in flight completes: ${res.error ?? ''}\n${log}`);
        const up = backend.requests.find((r) => r.json?.model === model);
        assert.ok(res.body.equals(up.responseBody), 'byte-identical');
        assert.ok(idleClosedAt < res.endedAt,
            `the idle connection closed ${idleClosedAt - t0} ms after SIGTERM, before the stream ended (${res.endedAt - t0} ms)`);
        assert.deepEqual(exit, { code: 0, signal: null });
        assert.ok(exitedAt - res.endedAt < 1500,
            `master exited ${exitedAt - res.endedAt} ms after the last request ended\n${log}`);
        assert.ok(exitedAt - t0 < 5000, `master exited ${exitedAt - t0} ms after SIGTERM (window 20 s)`);
    });

    it('reload: an idle keep-alive connection stays open and its next request is answered with Connection: close', async (t) => {
        const cfg = masterConfig(backend, {
            server: { workers: 1, drain_timeout_ms: 20_000, idle_timeout_ms: 60_000 },
        });
        const relay = await startRelay(cfg);
        t.after(() => relay.stop());
        const conn = await keepAliveConnection(relay.port);
        t.after(() => conn.destroy());
        assert.equal((await conn.request(HEALTH)).status, 200);

        const rl = await runCli(['reload', '--config', relay.configFile]);
        assert.equal(rl.code, 0, rl.stdout + rl.stderr);
        // The old worker has taken its drain signal (a stop's drain would close the connection now).
        await relay.waitForLog(/signal \d+: draining/, 5000);
        assert.ok(!conn.isClosed(), 'the idle connection is not closed by a reload');

        const r = await conn.request(HEALTH);
        assert.equal(r.status, 200, 'answered by the old generation');
        assert.equal(r.headers.connection, 'close', 'with Connection: close');
        await conn.closed;  // and then closed, after the answer
    });

    it('a stream still running at the end of the window ends with event: error, a clean chunked end and an access line', async (t) => {
        const WINDOW = 1500;
        const cfg = masterConfig(backend, { server: { workers: 1, drain_timeout_ms: WINDOW } });
        const relay = await startRelay(cfg);
        t.after(() => relay.stop());
        const model = mockModel('sse', { events: 40, delay: 150, tag: 'window-cut' });
        const st = openStream(relay.url, model, { timeoutMs: 15_000 });
        await st.firstByte;
        const t0 = Date.now();
        process.kill(relay.proc.pid, 'SIGTERM');
        const [res, exit] = await Promise.all([st.result, waitForExit(relay, WINDOW + 5000)]);
        const log = relay.logs();

        assert.equal(res.status, 200);
        assert.equal(res.headers['transfer-encoding'], 'chunked');
        assert.ok(res.complete, `the chunked body ends cleanly (terminating chunk): ${res.error ?? ''}\n${log.slice(-2000)}`);
        const cutAfter = res.endedAt - t0;
        assert.ok(cutAfter >= WINDOW - 250 && cutAfter < WINDOW + 1500, `cut ${cutAfter} ms after SIGTERM`);
        const text = res.body.toString('utf8');
        assert.ok(text.endsWith('\n\n'), 'the last event is complete');
        const events = parseSse(text);
        const last = events.at(-1);
        assert.equal(last.name, 'error', `last event: ${last.raw}`);
        assert.equal(last.json?.type, 'error');
        assert.equal(last.json?.error?.type, 'overloaded_error');
        assert.equal(last.json?.error?.message, 'the relay is shutting down');
        assert.ok(!events.some((e) => e.name === 'message_stop'), 'the upstream stream had not ended');
        for (const e of events.slice(0, -1)) assert.ok(e.json, `an event relayed whole: ${e.raw}`);
        const up = backend.requests.find((r) => r.json?.model === model);
        const relayed = text.slice(0, text.lastIndexOf('event: error'));
        assert.ok(up.responseBody.toString('utf8').startsWith(relayed), 'the relayed part is byte-identical');

        const rid = res.headers['x-request-id'];
        assert.match(log, new RegExp(`access rid=${rid} .*path=/v1/messages .*stream=1 status=200`),
            `an access line for the cut stream\n${log.slice(-2000)}`);
        assert.match(log, new RegExp(`rid=${rid} stream cut at the end of the drain window`));
        assert.deepEqual(exit, { code: 0, signal: null });
    });

    it('a stream cut inside an event: the terminal event still starts on its own', async (t) => {
        const WINDOW = 1000;
        const cfg = masterConfig(backend, { server: { workers: 1, drain_timeout_ms: WINDOW } });
        const relay = await startRelay(cfg);
        t.after(() => relay.stop());
        // The first event's first half, then a pause past the window: the cut comes mid-event.
        const st = openStream(relay.url, mockModel('sse', { events: 3, split: 1, splitDelay: 5000, tag: 'mid-event' }));
        await st.firstByte;
        process.kill(relay.proc.pid, 'SIGTERM');
        const res = await st.result;
        assert.ok(res.complete, res.error);
        const text = res.body.toString('utf8');
        const at = text.lastIndexOf('event: error\n');
        assert.ok(at > 0, text);
        assert.ok(text.slice(0, at).endsWith('\n\n'), `the event in progress is ended first: ${JSON.stringify(text)}`);
        assert.ok(!text.slice(0, at - 2).endsWith('\n'), 'no more line ends than needed');
        assert.equal(parseSse(text).at(-1).json?.error?.type, 'overloaded_error');
    });

    it('a stream outliving a reload\'s window gets the terminal event too; the new generation serves', async (t) => {
        const WINDOW = 1000;
        const cfg = masterConfig(backend, { server: { workers: 1, drain_timeout_ms: WINDOW } });
        const relay = await startRelay(cfg);
        t.after(() => relay.stop());
        const st = openStream(relay.url, mockModel('sse', { events: 40, delay: 150, tag: 'reload-cut' }));
        await st.firstByte;
        const rl = await runCli(['reload', '--config', relay.configFile]);
        assert.equal(rl.code, 0, rl.stdout + rl.stderr);
        const res = await st.result;
        assert.ok(res.complete, res.error);
        assert.equal(parseSse(res.body.toString('utf8')).at(-1).json?.error?.type, 'overloaded_error');
        const again = openStream(relay.url, mockModel('sse', { events: 3, tag: 'after-reload' }));
        const r2 = await again.result;
        assert.ok(r2.complete && /message_stop/.test(r2.body.toString()), 'the new generation serves');
    });

    it('a worker stopped at once with streams in flight exits cleanly (no crash tearing down its sessions)', async (t) => {
        const relay = await startRelay(masterConfig(backend, { server: { workers: 1 } }));
        t.after(() => relay.stop());
        const streams = [1, 2, 3].map((i) => openStream(relay.url, mockModel('sse', { events: 40, delay: 150, tag: `quit-${i}` })));
        await Promise.all(streams.map((s) => s.firstByte));
        const { pid } = (await statsJson(relay)).workers[0];
        process.kill(pid, 'SIGQUIT');
        const m = await relay.waitForLog(new RegExp(`worker 0 \\(pid ${pid}\\) (exited with status \\d+|killed by signal \\d+)`), 5000);
        assert.equal(m[1], 'exited with status 0', relay.logs().slice(-2000));
        await Promise.all(streams.map((s) => s.result));
    });
});
