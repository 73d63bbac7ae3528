// providers[].http2: requests to an https provider multiplexed over a few HTTP/2 connections
// negotiated by ALPN (issue 11). The mock provider speaks h2 and HTTP/1.1 (Node's http2 server with
// allowHTTP1) and counts its TCP connections and TLS handshakes; the measurement at 1 000
// concurrent streams compares a provider with and without `http2`.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { closedPort, messagesBody, parseSse, postJson, waitFor } from '../lib/http.mjs';
import { mockProvider, startRelay } from '../lib/relay.mjs';
import { mockModel, startBackend } from '../mocks/backend.mjs';
import { makeCerts } from '../mocks/certs.mjs';

const run = promisify(execFile);

describe('HTTP/2 to providers (providers[].http2)', { timeout: 180_000 }, () => {
    let certs;
    let backend;  // h2 and HTTP/1.1 by ALPN
    let h1only;   // HTTPS, HTTP/1.1 only
    let relay;

    before(async () => {
        certs = await makeCerts();
        backend = await startBackend({ tls: { key: certs.key, cert: certs.cert, http2: true } });
        h1only = await startBackend({ tls: { key: certs.key, cert: certs.cert } });
        relay = await startRelay({
            server: { workers: 1, enable_http2: true },
            routing: { strategy: 'model_based', model_mapping: { 'old-': 'h1only' } },
            providers: [
                mockProvider(backend, { name: 'h2', http2: true, ca_file: certs.caFile }),
                mockProvider(h1only, { name: 'h1only', http2: true, ca_file: certs.caFile }),
            ],
        });
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
        await h1only?.close();
        await certs?.cleanup();
    });
    beforeEach(() => {
        backend.reset();
        h1only.reset();
    });

    it('relays JSON and SSE over HTTP/2, byte for byte, on one connection', async () => {
        const opened = backend.acceptedConnections();
        const json = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(json.status, 200, json.text);
        assert.match(json.text, /MOCK-CANNED-REPLY/);
        assert.equal(backend.requests[0].httpVersion, '2.0');
        assert.equal(backend.requests[0].headers[':authority'], `localhost:${backend.port}`);
        const sse = await postJson(relay.url, '/v1/messages',
            messagesBody(mockModel('sse', { events: 8, delay: 20 }), { stream: true }));
        assert.equal(sse.status, 200);
        assert.ok(sse.body.equals(backend.requests[1].responseBody), 'client bytes equal upstream bytes');
        assert.equal(parseSse(sse.text).at(-1).name, 'message_stop');
        assert.equal(backend.acceptedConnections() - opened, 1, 'both requests shared one connection');
    });

    it('upstream errors are relayed as the provider sent them', async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody(mockModel('error', { status: 400 })));
        assert.equal(res.status, 400);
        assert.equal(res.json().error.type, 'invalid_request_error');
        assert.match(res.json().error.message, /prompt is too long/);
        assert.equal(res.headers['x-mock-error'], '400', 'the provider\'s own headers came through');
    });

    it('a server that chooses HTTP/1.1 by ALPN is spoken to in HTTP/1.1', async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody('old-model'));
        assert.equal(res.status, 200, res.text);
        assert.equal(h1only.requests[0].httpVersion, '1.1');
        const again = await postJson(relay.url, '/v1/messages', messagesBody('old-model', { stream: true }));
        assert.equal(again.status, 200);
        assert.equal(h1only.requests[1].httpVersion, '1.1');
    });

    it('a stream reset by the provider mid-answer ends the client\'s SSE with an error event', async () => {
        const res = await postJson(relay.url, '/v1/messages',
            messagesBody(mockModel('disconnect', { after: 4, events: 10 }), { stream: true }));
        assert.equal(res.status, 200);
        const events = parseSse(res.text);
        assert.equal(events.at(-1).name, 'error', res.text);
        // The connection itself carries on.
        const next = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(next.status, 200);
    });

    it('a client that goes away cancels its stream upstream', async () => {
        const ac = new AbortController();
        const pending = fetch(`${relay.url}/v1/messages`, {
            method: 'POST', signal: ac.signal, headers: { 'content-type': 'application/json' },
            body: JSON.stringify(messagesBody(mockModel('sse', { events: 40, delay: 100 }), { stream: true })),
        }).then(async (r) => { for await (const _ of r.body) { /* read */ } }).catch(() => {});
        await waitFor(() => backend.requests.length === 1, { what: 'the request reached the provider' });
        await new Promise((r) => setTimeout(r, 300));
        ac.abort();
        await pending;
        // The answer would take 4 s; the provider's stream closes at once.
        const closed = await Promise.race([backend.requests[0].closed.then(() => true),
            new Promise((r) => setTimeout(() => r(false), 2000))]);
        assert.ok(closed, 'the upstream stream closed within 2 s of the client leaving');
        assert.ok(backend.requests[0].responseBytes.length < 20, `${backend.requests[0].responseBytes.length} writes`);
    });

    it('1 000 concurrent streams: connections and TLS handshakes, with and without http2', async (t) => {
        // One relay per setting, the same provider, the same load: 1 000 SSE requests in flight at
        // once (h2load: 10 client connections x 100 streams; each answer takes ~1 s).
        const body = path.join(certs.dir, 'slow-sse.json');
        await writeFile(body, JSON.stringify(messagesBody(mockModel('sse', { events: 5, delay: 250 }), { stream: true })));
        const measure = async (http2) => {
            const r = await startRelay({
                server: { workers: 1, enable_http2: true, max_concurrent: 0 },
                providers: [mockProvider(backend, { name: 'p', http2, ca_file: certs.caFile })],
            });
            try {
                const conns = backend.acceptedConnections();
                const hs = backend.tlsHandshakes();
                backend.reset();
                const { stdout } = await run('h2load', ['-n', '1000', '-c', '10', '-m', '100', '-d', body,
                    '-H', 'content-type: application/json', `${r.url}/v1/messages`], { timeout: 90_000 });
                assert.match(stdout, /1000 succeeded, 0 failed/, stdout);
                assert.match(stdout, /status codes: 1000 2xx/, stdout);
                return {
                    connections: backend.acceptedConnections() - conns,
                    handshakes: backend.tlsHandshakes() - hs,
                    versions: new Set(backend.requests.map((q) => q.httpVersion)),
                };
            } finally {
                await r.stop();
            }
        };
        const h2 = await measure(true);
        const h1 = await measure(false);
        t.diagnostic(`http2: ${h2.connections} connections, ${h2.handshakes} handshakes; ` +
            `HTTP/1.1: ${h1.connections} connections, ${h1.handshakes} handshakes`);
        assert.deepEqual([...h2.versions], ['2.0']);
        assert.deepEqual([...h1.versions], ['1.1']);
        // Node's server allows 100 streams per connection by default: about 10 connections.
        assert.ok(h2.connections <= 16, `http2 opened ${h2.connections} connections`);
        assert.ok(h2.handshakes <= 16, `http2 made ${h2.handshakes} handshakes`);
        assert.ok(h1.connections >= 500, `HTTP/1.1 opened ${h1.connections} connections`);
    });

    it('a provider with http2 that cannot be reached fails over to the next', async () => {
        const dead = await closedPort();
        const r = await startRelay({
            providers: [
                { name: 'gone', type: 'anthropic', enabled: true, base_url: `https://localhost:${dead}`, http2: true, ca_file: certs.caFile },
                mockProvider(backend, { name: 'h2', http2: true, ca_file: certs.caFile }),
            ],
        });
        try {
            const res = await postJson(r.url, '/v1/messages', messagesBody());
            assert.equal(res.status, 200, res.text);
            assert.equal(backend.requests[0].httpVersion, '2.0');
        } finally {
            await r.stop();
        }
    });
});
