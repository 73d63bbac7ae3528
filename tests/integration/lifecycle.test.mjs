// Process lifecycle, from DESIGN.md ("SIGTERM and SIGINT drain gracefully"; "a drain must never
// turn into a failed request"): a stream in flight when SIGTERM arrives runs to its end, and the
// relay then exits 0.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import { messagesBody, withDeadline } from '../lib/http.mjs';
import { mockProvider, startRelay } from '../lib/relay.mjs';
import { mockModel, startBackend } from '../mocks/backend.mjs';

describe('graceful shutdown', { timeout: 30_000 }, () => {
    let backend;
    before(async () => { backend = await startBackend(); });
    after(async () => { await backend?.close(); });

    it('finishes an in-flight stream after SIGTERM, then exits 0', async (t) => {
        const relay = await startRelay({
            server: { drain_timeout_ms: 8000 },
            providers: [mockProvider(backend)],
        });
        t.after(() => relay.stop());
        // 6 deltas, 150 ms apart: ~1.6 s of stream.
        const body = JSON.stringify(messagesBody(mockModel('sse', { events: 6, delay: 150 }), { stream: true }));
        const result = withDeadline(new Promise((resolve, reject) => {
            const req = http.request(relay.url + '/v1/messages', {
                method: 'POST', agent: false,
                headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
            }, (res) => {
                const chunks = [];
                res.once('data', () => process.kill(relay.proc.pid, 'SIGTERM')); // mid-stream
                res.on('data', (d) => chunks.push(d));
                res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks), complete: res.complete }));
                res.on('aborted', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks), aborted: true }));
                res.on('error', () => {});
            });
            req.on('error', reject);
            req.end(body);
        }), 10_000, 'stream during drain');
        const r = await result;
        assert.equal(r.status, 200);
        assert.ok(!r.aborted, `the stream was cut by the shutdown\n${relay.logs().slice(-2000)}`);
        const sent = backend.requests.at(-1).responseBody;
        assert.ok(r.body.equals(sent), 'the client got the whole stream');
        const exit = await withDeadline(new Promise((resolve) => {
            if (relay.exited()) resolve(relay.exited()); else relay.proc.once('exit', (code, signal) => resolve({ code, signal }));
        }), 10_000, 'relay exit after drain');
        assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}\n${relay.logs().slice(-2000)}`);
    });
});
