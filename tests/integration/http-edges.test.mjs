// HTTP edges a new user hit: bad chunked framing gets a 400 (not a silent close logged as 499),
// a 405 lists what that route takes, a client's X-Request-ID is adopted only when it is a safe
// token, and `serve --debug` logs request bodies as its help says.

import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';

import { messagesBody, parseRawResponse, postJson, rawExchange, request, withDeadline } from '../lib/http.mjs';
import { assertRelayError, ctx } from '../lib/expect.mjs';
import { mockProvider, relayOverMock, startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('HTTP edges', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; }, (backend) => ({
        providers: [mockProvider(backend)],
    }));

    it('answers 400 invalid_request_error to an invalid chunk size, and logs 400', async () => {
        const out = await rawExchange(relay.port, [
            'POST /v1/messages HTTP/1.1', 'Host: x', 'Content-Type: application/json',
            'Transfer-Encoding: chunked', 'X-Request-ID: bad-chunk-1', '', 'zz', '{"model":"m"}', '0', '', '',
        ].join('\r\n'), { timeoutMs: 4000 });
        const res = parseRawResponse(out.data);
        assert.equal(res.status, 400, out.data);
        const body = JSON.parse(res.body);
        assert.equal(body.type, 'error');
        assert.equal(body.error.type, 'invalid_request_error');
        assert.match(body.error.message, /malformed request body/);
        assert.equal(backend.requests.length, 0);
        await relay.waitForLog(/access rid=bad-chunk-1 .*status=400/);
    });

    for (const [method, path, allow] of [
        ['POST', '/v1/models', 'GET, HEAD'],
        ['DELETE', '/v1/providers', 'GET, HEAD'],
        ['POST', '/health', 'GET, HEAD'],
        ['GET', '/v1/messages', 'POST'],
        ['PUT', '/v1/messages/count_tokens', 'POST'],
    ]) {
        it(`${method} ${path} → 405 with Allow: ${allow}`, async () => {
            const res = await request(`${relay.url}${path}`, { method });
            assertRelayError(res, 405, 'invalid_request_error', relay);
            assert.equal(res.headers.allow, allow, ctx(res, relay));
        });
    }

    // A client that asks with Expect: 100-continue is told to go on before its body is read;
    // one that sent the body anyway still gets its answer (the relay reads what came).
    for (const [what, bodyWithHead] of [['body after the 100', false], ['body sent with the head', true]]) {
        it(`Expect: 100-continue, ${what}: 100 Continue, then the answer`, async () => {
            const body = JSON.stringify(messagesBody());
            const head = ['POST /v1/messages HTTP/1.1', 'Host: x', 'Content-Type: application/json',
                `Content-Length: ${Buffer.byteLength(body)}`, 'Expect: 100-continue', 'Connection: close', '', ''].join('\r\n');
            const before = backend.requests.length;
            const sock = net.connect({ host: '127.0.0.1', port: relay.port });
            let data = '';
            sock.on('data', (d) => {
                data += d;
                if (!bodyWithHead && data.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !sock.sentBody) {
                    sock.sentBody = true;
                    sock.write(body);
                }
            });
            const closed = new Promise((r) => { sock.on('close', r); sock.on('error', r); });
            sock.on('connect', () => sock.write(bodyWithHead ? head + body : head));
            await withDeadline(closed, 10_000, `the answer: ${data}`);
            assert.ok(data.startsWith('HTTP/1.1 100 Continue\r\n\r\n'), data);
            const res = parseRawResponse(data.slice('HTTP/1.1 100 Continue\r\n\r\n'.length));
            assert.equal(res.status, 200, data);
            assert.equal(backend.requests.length, before + 1);
            assert.deepEqual(JSON.parse(backend.requests.at(-1).body), JSON.parse(body));
        });
    }

    it('adopts a client X-Request-ID that is a safe token', async () => {
        const res = await request(`${relay.url}/health`, { headers: { 'x-request-id': 'req_01:abc-DEF.9' } });
        assert.equal(res.headers['x-request-id'], 'req_01:abc-DEF.9');
    });

    for (const [what, id] of [
        ['spaces and quotes (log field spoofing)', 'a b"c provider=evil'],
        ['more than 128 characters', 'x'.repeat(129)],
        ['an equals sign', 'a=b'],
    ]) {
        it(`replaces a client X-Request-ID with ${what}, in the answer, upstream and the log`, async () => {
            const res = await postJson(relay.url, '/v1/messages', messagesBody(), { headers: { 'x-request-id': id } });
            assert.equal(res.status, 200, ctx(res, relay));
            const rid = res.headers['x-request-id'];
            assert.match(rid, UUID);
            assert.equal(backend.requests.at(-1).headers['x-request-id'], rid);
            await relay.waitForLog(new RegExp(`access rid=${rid} `));
            assert.ok(!relay.logs().includes(id), 'the client value never reaches the log');
        });
    }
});

describe('HEAD answers under auth', { timeout: 30_000 }, () => {
    it('a HEAD answer that is an error carries no body', async () => {
        const backend = await startBackend();
        const relay = await startRelay({ server: { auth: { api_key: 'k-405' } }, providers: [mockProvider(backend)] });
        try {
            const out = await rawExchange(relay.port, 'HEAD /v1/models HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
            const statuses = [...out.data.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
            assert.deepEqual(statuses, [401, 200], out.data);
            // The second answer starts right after the first head: no body in between.
            assert.match(out.data, /\r\n\r\nHTTP\/1\.1 200 /);
        } finally {
            await relay.stop();
            await backend.close();
        }
    });
});

describe('serve --debug', { timeout: 30_000 }, () => {
    it('logs each request body at debug level with secret-looking values masked', async () => {
        const backend = await startBackend();
        const relay = await startRelay({ providers: [mockProvider(backend)] }, { args: ['--debug'] });
        try {
            const body = messagesBody('claude-sonnet-4-5', { metadata: { user_id: 'DEBUG-BODY-MARKER-1' }, api_key: 'sk-hide-me' });
            const res = await postJson(relay.url, '/v1/messages', body, { headers: { 'x-request-id': 'dbg-1' } });
            assert.equal(res.status, 200, ctx(res, relay));
            await relay.waitForLog(/rid=dbg-1 body=.*DEBUG-BODY-MARKER-1/);
            assert.ok(!relay.logs().includes('sk-hide-me'), 'a secret-looking value is masked');
        } finally {
            await relay.stop();
            await backend.close();
        }
    });

    it('does not log bodies without it', async () => {
        const backend = await startBackend();
        const relay = await startRelay({ providers: [mockProvider(backend)], logging: { level: 'debug' } });
        try {
            const body = messagesBody('claude-sonnet-4-5', { metadata: { user_id: 'DEBUG-BODY-MARKER-2' } });
            const res = await postJson(relay.url, '/v1/messages', body, { headers: { 'x-request-id': 'dbg-2' } });
            assert.equal(res.status, 200, ctx(res, relay));
            await relay.waitForLog(/access rid=dbg-2 /);
            assert.ok(!relay.logs().includes('DEBUG-BODY-MARKER-2'));
        } finally {
            await relay.stop();
            await backend.close();
        }
    });
});
