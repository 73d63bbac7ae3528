// Client connections: HTTP/1.1 keep-alive reuse, and a request head that never finishes being
// closed after server.read_header_timeout_ms.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import { messagesBody, parseRawResponse, postJson, rawExchange, request } from '../lib/http.mjs';
import { ctx } from '../lib/expect.mjs';
import { mockProvider, relayOverMock } from '../lib/relay.mjs';

describe('client connections', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; }, (backend) => ({
        server: { read_header_timeout_ms: 300 },
        providers: [mockProvider(backend)],
    }));

    it('serves several requests on one kept-alive connection', async () => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
            const results = [];
            results.push(await postJson(relay.url, '/v1/messages', messagesBody(), { agent }));
            results.push(await postJson(relay.url, '/v1/messages', messagesBody(undefined, { stream: true }), { agent }));
            results.push(await request(relay.url + '/health', { agent }));
            results.push(await postJson(relay.url, '/v1/messages', messagesBody(), { agent }));
            for (const r of results) assert.equal(r.status, 200, ctx(r, relay));
            assert.equal(results[0].reusedSocket, false);
            for (const r of results.slice(1)) {
                assert.equal(r.reusedSocket, true, 'the socket was reused');
                assert.equal(r.socket, results[0].socket, 'the same socket object');
            }
            assert.ok(results[0].socket.localPort > 0);
            assert.ok(results.every((r) => r.localPort === results[0].localPort), 'one client port throughout');
            assert.equal(backend.requests.length, 3);
        } finally {
            agent.destroy();
        }
    });

    it('closes a connection whose request head never finishes after read_header_timeout_ms', async () => {
        const out = await rawExchange(relay.port,
            'POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n',
            { timeoutMs: 4000 });
        assert.equal(out.closedByServer, true, `the relay closed the connection (after ${out.elapsedMs} ms)`);
        assert.ok(out.elapsedMs >= 200, `not before the timeout (${out.elapsedMs} ms)`);
        assert.ok(out.elapsedMs < 3000, `soon after the 300 ms timeout (${out.elapsedMs} ms)`);
        assert.equal(backend.requests.length, 0);
    });

    it('still serves a complete request under the short header timeout', async () => {
        const body = JSON.stringify(messagesBody());
        const out = await rawExchange(relay.port, [
            'POST /v1/messages HTTP/1.1', `Host: 127.0.0.1:${relay.port}`, 'Content-Type: application/json',
            `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body,
        ].join('\r\n'), { timeoutMs: 4000 });
        const res = parseRawResponse(out.data);
        assert.equal(res.status, 200, out.data.slice(0, 300));
        assert.equal(backend.requests.length, 1);
    });

    // HTTP/1.1 (RFC 9112 §9.3.2): a client may pipeline; the server answers in order.
    it('answers pipelined requests in order', async () => {
        const body = JSON.stringify(messagesBody());
        const raw = [
            `GET /health HTTP/1.1\r\nHost: x\r\nX-Request-ID: pipe-1\r\n\r\n`,
            `POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Request-ID: pipe-2\r\nContent-Type: application/json\r\n` +
                `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
            `GET /health HTTP/1.1\r\nHost: x\r\nX-Request-ID: pipe-3\r\nConnection: close\r\n\r\n`,
        ].join('');
        const out = await rawExchange(relay.port, raw, { timeoutMs: 5000 });
        const statuses = [...out.data.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
        const ids = [...out.data.matchAll(/\r\nx-request-id: *([^\r\n]+)/gi)].map((m) => m[1]);
        assert.deepEqual(statuses, [200, 200, 200], out.data.slice(0, 400));
        assert.deepEqual(ids, ['pipe-1', 'pipe-2', 'pipe-3']);
        assert.equal(out.closedByServer, true);
    });
});
