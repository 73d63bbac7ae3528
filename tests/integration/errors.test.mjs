// Errors: the ones cc-relay makes itself (Anthropic shape, right status) and upstream errors that
// must reach the client unmodified when there is nowhere to fail over to.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { closedPort, messagesBody, postJson, request } from '../lib/http.mjs';
import { assertRelayError, ctx } from '../lib/expect.mjs';
import { mockProvider, relayOverMock, startRelay } from '../lib/relay.mjs';
import { mockModel, startBackend } from '../mocks/backend.mjs';

describe('errors made by cc-relay', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; }, (backend) => ({
        server: { max_body_bytes: 4096, response_header_timeout_ms: 600 },
        providers: [mockProvider(backend)],
    }));

    it('answers 400 invalid_request_error to a malformed JSON body and forwards nothing', async () => {
        const res = await postJson(relay.url, '/v1/messages', Buffer.from('{"model": "claude-x", "messages": ['));
        assertRelayError(res, 400, 'invalid_request_error', relay);
        assert.equal(backend.requests.length, 0);
    });

    it('answers 400 invalid_request_error to a body without model', async () => {
        const res = await postJson(relay.url, '/v1/messages',
            { max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
        assertRelayError(res, 400, 'invalid_request_error', relay);
        assert.equal(backend.requests.length, 0);
    });

    it('answers 413 request_too_large to a body over server.max_body_bytes', async () => {
        const big = messagesBody('claude-x', { padding: 'x'.repeat(10_000) });
        const res = await postJson(relay.url, '/v1/messages', big);
        assertRelayError(res, 413, 'request_too_large', relay);
        assert.equal(backend.requests.length, 0);
    });

    it('accepts a body just under server.max_body_bytes', async () => {
        const body = messagesBody('claude-x', { padding: '' });
        const base = JSON.stringify(body).length;
        body.padding = 'y'.repeat(4000 - base);
        assert.equal(JSON.stringify(body).length, 4000);
        const res = await postJson(relay.url, '/v1/messages', body);
        assert.equal(res.status, 200, ctx(res, relay));
    });

    it('answers 413 request_too_large to a chunked body over server.max_body_bytes', async () => {
        const big = messagesBody('claude-x', { padding: 'x'.repeat(10_000) });
        const res = await postJson(relay.url, '/v1/messages', big, { chunked: true })
            .catch((err) => ({ error: err }));
        assert.ok(!res.error, `the client gets an answer, not ${res.error}`);
        assertRelayError(res, 413, 'request_too_large', relay);
        assert.equal(backend.requests.length, 0);
    });

    it('forwards a chunked body under server.max_body_bytes byte for byte', async () => {
        const raw = Buffer.from(JSON.stringify(messagesBody('claude-x', { padding: 'z'.repeat(3000) })));
        const res = await postJson(relay.url, '/v1/messages', raw, { chunked: true });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.ok(backend.requests[0].body.equals(raw));
    });

    it('answers 504 timeout_error when the upstream stays silent past response_header_timeout_ms', async () => {
        const started = Date.now();
        const res = await postJson(relay.url, '/v1/messages', messagesBody(mockModel('hang')), { timeoutMs: 8000 });
        assertRelayError(res, 504, 'timeout_error', relay);
        const took = Date.now() - started;
        assert.ok(took >= 500 && took < 5000, `timed out after ~600 ms (took ${took} ms)`);
    });

    it('answers 504 for a streaming request whose upstream stays silent', async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody(mockModel('hang'), { stream: true }),
            { timeoutMs: 8000 });
        assertRelayError(res, 504, 'timeout_error', relay);
    });
});

describe('upstream connect failure', { timeout: 20_000 }, () => {
    it('answers 502 api_error when the upstream port is closed', async (t) => {
        const port = await closedPort();
        const relay = await startRelay({
            server: { connect_timeout_ms: 2000 },
            providers: [{ name: 'dead', type: 'anthropic', enabled: true, base_url: `http://127.0.0.1:${port}` }],
        });
        t.after(() => relay.stop());
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), { timeoutMs: 8000 });
        assertRelayError(res, 502, 'api_error', relay);
        const res2 = await postJson(relay.url, '/v1/messages', messagesBody(undefined, { stream: true }),
            { timeoutMs: 8000 });
        assertRelayError(res2, 502, 'api_error', relay);
    });
});

describe('upstream errors pass through unmodified', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; });

    for (const status of [400, 401, 429, 500, 529]) {
        it(`relays an upstream ${status} with its body bytes`, async () => {
            const res = await postJson(relay.url, '/v1/messages', messagesBody(mockModel('error', { status })));
            assert.equal(res.status, status, ctx(res, relay));
            assert.equal(backend.requests.length, 1, 'one upstream attempt');
            assert.ok(res.body.equals(backend.requests[0].responseBody),
                `body unmodified: got ${res.text} want ${backend.requests[0].responseBody}`);
            assert.match(String(res.headers['content-type']), /^application\/json\b/);
        });
    }

    it('relays an upstream 529 for a streaming request as an HTTP status with the JSON body', async () => {
        const res = await postJson(relay.url, '/v1/messages',
            messagesBody(mockModel('error', { status: 529 }), { stream: true }));
        assert.equal(res.status, 529, ctx(res, relay));
        assert.ok(res.body.equals(backend.requests[0].responseBody));
    });

    it('keeps the upstream retry-after header on a 429', async () => {
        const res = await postJson(relay.url, '/v1/messages',
            messagesBody(mockModel('error', { status: 429, retryAfter: 13 })));
        assert.equal(res.status, 429, ctx(res, relay));
        assert.equal(res.headers['retry-after'], '13');
    });

    it('relays an upstream 404 on /v1/messages unchanged (not turned into a relay error)', async () => {
        backend.setMode({ kind: 'not_found' });
        const res = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(res.status, 404, ctx(res, relay));
        assert.ok(res.body.equals(backend.requests[0].responseBody));
    });
});

describe('relay errors on other routes', { timeout: 20_000 }, () => {
    it('answers 404 not_found_error for GET /v1/messages/unknown', async (t) => {
        const backend = await startBackend();
        t.after(() => backend.close());
        const relay = await startRelay({ providers: [mockProvider(backend)] });
        t.after(() => relay.stop());
        const res = await request(relay.url + '/v1/messages/unknown');
        assertRelayError(res, 404, 'not_found_error', relay);
        assert.equal(backend.requests.length, 0);
    });
});

describe('body limits above 1 MiB', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; }, (backend) => ({
        server: { max_body_bytes: 2 * 1024 * 1024 },
        providers: [mockProvider(backend)],
    }));

    const bodyOfSize = (n) => {
        const body = messagesBody('claude-x', { padding: '' });
        body.padding = 'p'.repeat(n - JSON.stringify(body).length);
        return Buffer.from(JSON.stringify(body));
    };

    it('accepts a 1.5 MiB body under a 2 MiB server.max_body_bytes', async () => {
        const raw = bodyOfSize(1.5 * 1024 * 1024);
        const res = await postJson(relay.url, '/v1/messages', raw, { timeoutMs: 10_000 });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.ok(backend.requests[0].body.equals(raw));
    });

    it('answers 413 request_too_large to a 3 MiB body over a 2 MiB server.max_body_bytes', async () => {
        const res = await postJson(relay.url, '/v1/messages', bodyOfSize(3 * 1024 * 1024), { timeoutMs: 10_000 })
            .catch((err) => ({ error: err }));
        assert.ok(!res.error, `the client gets an answer, not ${res.error}`);
        assertRelayError(res, 413, 'request_too_large', relay);
        assert.equal(backend.requests.length, 0);
    });
});
