// Prefork master (issue 3), shutdown: SIGTERM drains for server.drain_timeout_ms — a stream that
// ends inside the window completes, one longer than the window is cut when the window ends (with a
// terminal `event: error`, issue 7) — and the master exits 0 soon after, removing its segment. A second SIGINT, or SIGQUIT, is immediate.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
    masterConfig, openStream, segmentExists, statsJson, waitFor, waitForExit,
} from '../lib/process.mjs';
import { startRelay } from '../lib/relay.mjs';
import { mockModel, startBackend } from '../mocks/backend.mjs';

const WINDOW = 3000;

/** The mock's record of the request whose model is `model`. */
function upstreamOf(backend, model) {
    return backend.requests.find((r) => r.json?.model === model);
}

describe('prefork master: SIGTERM drain', { timeout: 60_000 }, () => {
    let backend;
    before(async () => { backend = await startBackend(); });
    after(async () => { await backend?.close(); });

    it('a slow stream completes inside the window, a longer one is cut at its end; exit 0 soon after', async (t) => {
        const cfg = masterConfig(backend, { server: { workers: 2, drain_timeout_ms: WINDOW } });
        const relay = await startRelay(cfg);
        t.after(() => relay.stop());
        const shm = cfg.server.shm_name;
        assert.ok(segmentExists(shm), `segment /dev/shm${shm} exists while running`);
        const workerPids = (await statsJson(relay)).workers.map((w) => w.pid);

        // ~1.5 s: ends inside the window. ~7 s: outlives it.
        const shortModel = mockModel('sse', { events: 6, delay: 140, tag: 'short' });
        const longModel = mockModel('sse', { events: 40, delay: 150, tag: 'long' });
        const short = openStream(relay.url, shortModel, { timeoutMs: 15_000 });
        const long = openStream(relay.url, longModel, { timeoutMs: 15_000 });
        await Promise.all([short.firstByte, long.firstByte]);

        const t0 = Date.now();
        process.kill(relay.proc.pid, 'SIGTERM');
        const [s, l, exit] = await Promise.all([short.result, long.result, waitForExit(relay, WINDOW + 6000)]);
        const exitedAt = Date.now();
        const log = relay.logs().slice(-3000);

        // The short stream: complete, byte for byte, before the window ended.
        assert.equal(s.status, 200);
        assert.ok(s.complete && !s.aborted, `short stream cut: ${s.error ?? ''}\n${log}`);
        assert.ok(s.body.equals(upstreamOf(backend, shortModel).responseBody), 'short stream byte-identical');
        assert.ok(s.endedAt - t0 < WINDOW, `short stream ended ${s.endedAt - t0} ms after SIGTERM`);

        // The long stream: cut when the window ended, with a terminal error event and a clean end.
        assert.equal(l.status, 200);
        assert.ok(l.complete, `the cut stream ends its chunked body cleanly\n${log}`);
        assert.doesNotMatch(l.body.toString(), /message_stop/, 'the long stream did not reach its end');
        assert.match(l.body.toString(), /event: error\ndata: \{"type":"error","error":\{"type":"overloaded_error"[^\n]*\n\n$/);
        const cutAfter = l.endedAt - t0;
        assert.ok(cutAfter >= WINDOW - 250 && cutAfter <= WINDOW + 1500,
            `long stream cut ${cutAfter} ms after SIGTERM (window ${WINDOW} ms)`);
        const upLong = upstreamOf(backend, longModel);
        assert.ok(upLong.responseBody.length > l.body.length - 1000, 'the client got what arrived before the cut');
        assert.ok(relay.logs().includes(`model=${longModel} stream=1 status=200`), 'the cut stream has its access line');

        // The master: exit 0 soon after the window; workers gone; segment removed.
        assert.deepEqual(exit, { code: 0, signal: null }, `master exit ${JSON.stringify(exit)}\n${log}`);
        const exitAfter = exitedAt - t0;
        assert.ok(exitAfter >= WINDOW - 250 && exitAfter <= WINDOW + 2000,
            `master exited ${exitAfter} ms after SIGTERM (window ${WINDOW} ms)\n${log}`);
        await waitFor(() => workerPids.every((pid) => {
            try { process.kill(pid, 0); return false; } catch { return true; }
        }), { timeoutMs: 2000, what: 'workers gone' });
        assert.ok(!segmentExists(shm), `segment /dev/shm${shm} removed on exit`);
    });

    it('SIGTERM with nothing in flight exits 0 promptly', async (t) => {
        const cfg = masterConfig(backend, { server: { workers: 2, drain_timeout_ms: 10_000 } });
        const relay = await startRelay(cfg);
        t.after(() => relay.stop());
        const t0 = Date.now();
        process.kill(relay.proc.pid, 'SIGTERM');
        const exit = await waitForExit(relay, 5000);
        assert.deepEqual(exit, { code: 0, signal: null });
        assert.ok(Date.now() - t0 < 2000, `idle drain took ${Date.now() - t0} ms`);
        assert.ok(!segmentExists(cfg.server.shm_name));
    });

    for (const [name, signals] of [['a second SIGINT', ['SIGINT', 'SIGINT']], ['SIGQUIT', ['SIGQUIT']]]) {
        it(`${name} stops at once, cutting a stream in flight`, async (t) => {
            const cfg = masterConfig(backend, { server: { workers: 2, drain_timeout_ms: 20_000 } });
            const relay = await startRelay(cfg);
            t.after(() => relay.stop());
            const model = mockModel('sse', { events: 40, delay: 150, tag: `immediate-${signals.length}` });
            const st = openStream(relay.url, model, { timeoutMs: 15_000 });
            await st.firstByte;
            const t0 = Date.now();
            process.kill(relay.proc.pid, signals[0]);
            if (signals.length > 1) {
                await relay.waitForLog(/draining \d+ worker\(s\)/, 2000);
                process.kill(relay.proc.pid, signals[1]);
            }
            const exit = await waitForExit(relay, 5000);
            const took = Date.now() - t0;
            assert.equal(exit.code, 0, JSON.stringify(exit));
            assert.ok(took < 2500, `stopped ${took} ms after ${signals.join(', ')} (drain window 20 s)`);
            const r = await st.result;
            assert.ok(!r.complete, 'the stream was cut');
            assert.ok(!segmentExists(cfg.server.shm_name));
        });
    }
});
