// server.stream_idle_timeout_ms: an upstream that goes silent mid-stream is not held until
// server.timeout_ms; the client gets what came, a terminal `event: error` (timeout_error) and a
// clean end of the chunked body, and the worker keeps serving. A stream that keeps sending, even
// slowly, is never cut by it. Nor is an error answer held whose upstream stalls after its head
// (its start is read before it is relayed, to mask echoed credentials).

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import { messagesBody, parseSse, postJson } from '../lib/http.mjs';
import { openStream } from '../lib/process.mjs';
import { startRelay } from '../lib/relay.mjs';
import { mockModel, startBackend } from '../mocks/backend.mjs';

describe('server.stream_idle_timeout_ms', { timeout: 60_000 }, () => {
    let backend;
    let relay;
    before(async () => {
        backend = await startBackend();
        relay = await startRelay({
            server: { stream_idle_timeout_ms: 600, workers: 1 },
            providers: [{ name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'k' }] }],
        });
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    it('a stream whose upstream stalls ends with event: error and a clean chunked end', async () => {
        // Events 10 s apart: the first arrives, then the upstream is silent far longer than 600 ms.
        const started = Date.now();
        const s = openStream(relay.url, mockModel('sse', { events: 5, delay: 10_000 }));
        const r = await s.result;
        const elapsed = Date.now() - started;
        assert.ok(elapsed < 5000, `ended by the idle timeout, not the upstream (${elapsed} ms)`);
        assert.equal(r.status, 200);
        assert.equal(r.complete, true, 'the chunked body ends properly');
        const events = parseSse(r.body.toString('utf8'));
        assert.equal(events[0].name, 'message_start');
        const last = events.at(-1);
        assert.equal(last.name, 'error', r.body.toString());
        assert.equal(last.json.error.type, 'timeout_error');
        assert.match(last.json.error.message, /stream_idle_timeout_ms/);
        await relay.waitForLog(/no upstream bytes for 600 ms/);
        // The worker keeps serving.
        assert.equal((await postJson(relay.url, '/v1/messages', messagesBody())).status, 200);
    });

    it('an error answer whose upstream stalls after its head is not held until server.timeout_ms', async (t) => {
        // A provider with a key: its error answers are read (up to 64 KiB) before they are relayed.
        const stalling = http.createServer((req, res) => {
            req.resume();
            res.writeHead(500, { 'content-type': 'application/json' });
            res.write('{"type":"error","error":{"type":"api_error",');  // and nothing more
        });
        await new Promise((r) => stalling.listen(0, '127.0.0.1', r));
        t.after(() => { stalling.closeAllConnections(); stalling.close(); });
        const stalled = await startRelay({
            server: { stream_idle_timeout_ms: 600, timeout_ms: 60_000, workers: 1 },
            providers: [{ name: 'stall', type: 'anthropic', enabled: true, base_url: `http://127.0.0.1:${stalling.address().port}`, keys: [{ key: 'sk-stall-key' }] }],
        });
        t.after(() => stalled.stop());
        const r = await openStream(stalled.url, 'claude-sonnet-4-5', { timeoutMs: 10_000 }).result;
        assert.ok(r.elapsedMs < 5000, `ended by the idle timeout, not server.timeout_ms (${r.elapsedMs} ms)`);
        assert.equal(r.status, 500);
        assert.equal(r.body.toString(), '{"type":"error","error":{"type":"api_error",');
        assert.equal(r.complete, false, 'the cut is visible: no clean end of the body');
    });

    it('a slow stream that keeps sending within the window is relayed whole', async () => {
        const s = openStream(relay.url, mockModel('sse', { events: 4, delay: 300 }));
        const r = await s.result;
        assert.equal(r.complete, true);
        const events = parseSse(r.body.toString('utf8'));
        assert.equal(events.at(-1).name, 'message_stop');
        assert.ok(!events.some((e) => e.name === 'error'));
    });
});
