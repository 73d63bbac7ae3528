// server.enable_http2: HTTP/2 from clients (issue 11). h2c with prior knowledge and by Upgrade on
// the plain listener, h2 by ALPN on the TLS one; every stream meets the same filters, limits and
// relay as an HTTP/1.1 request; SSE flows event by event with per-stream flow control; a client's
// reset cancels its upstream request; a reload's drain ends a connection with GOAWAY after its
// streams finish. Clients: Node's http2 (nghttp2 inside), curl, and h2load from nghttp2-client.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import { after, before, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { messagesBody, parseSse, rawExchange, waitFor, withDeadline } from '../lib/http.mjs';
import { mockProvider, startRelay } from '../lib/relay.mjs';
import { CANNED_TEXT, mockModel, startBackend } from '../mocks/backend.mjs';
import { makeCerts } from '../mocks/certs.mjs';

const run = promisify(execFile);
const HTTPS_RE = /listening on https:\/\/[^\s]+:(\d+) \(server\.tls\)/;
const RELAY_KEY = 'h2-test-relay-key';

// One request on an HTTP/2 session. Resolves { status, headers, body (Buffer), text, chunks
// [{at, data}] } when the stream ends; `onStream` gets the stream as soon as it exists.
function h2request(session, { method = 'POST', path = '/v1/messages', body, headers = {}, onStream, timeoutMs = 15_000 } = {}) {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const started = Date.now();
    return withDeadline(new Promise((resolve, reject) => {
        const req = session.request({
            ':method': method,
            ':path': path,
            'x-api-key': RELAY_KEY,
            ...(payload ? { 'content-type': 'application/json' } : {}),
            ...headers,
        }, { endStream: !payload });
        const chunks = [];
        let head;
        req.on('response', (h) => { head = h; });
        req.on('data', (d) => chunks.push({ at: Date.now() - started, data: d }));
        req.on('end', () => {
            const buf = Buffer.concat(chunks.map((c) => c.data));
            resolve({ status: head?.[':status'], headers: head, body: buf, text: buf.toString('utf8'), chunks, stream: req });
        });
        req.on('error', reject);
        onStream?.(req);
        if (payload) req.end(payload);
    }), timeoutMs, `h2 ${method} ${path}`);
}

function connect(url, opts = {}) {
    return new Promise((resolve, reject) => {
        const session = http2.connect(url, opts);
        session.once('connect', () => resolve(session));
        session.once('error', reject);
    });
}

describe('HTTP/2 from clients', { timeout: 120_000 }, () => {
    let backend;
    let relay;
    let certs;
    let tlsPort;
    let session;

    before(async () => {
        certs = await makeCerts();
        backend = await startBackend();
        relay = await startRelay({
            server: {
                workers: 1,
                enable_http2: true,
                max_body_bytes: 64 * 1024,
                drain_timeout_ms: 15_000,
                auth: { api_key: RELAY_KEY },
                tls: { listen: '127.0.0.1:0', cert_file: certs.certFile, key_file: certs.keyFile },
            },
            providers: [mockProvider(backend)],
        });
        tlsPort = Number((await relay.waitForLog(HTTPS_RE))[1]);
        session = await connect(relay.url);
    });
    after(async () => {
        session?.destroy();
        await relay?.stop();
        await backend?.close();
        await certs?.cleanup();
    });
    beforeEach(() => backend.reset());

    it('relays a request over h2c with prior knowledge; the upstream sees HTTP/1.1', async () => {
        const res = await h2request(session, { body: messagesBody() });
        assert.equal(res.status, 200, res.text);
        assert.match(res.text, /MOCK-CANNED-REPLY/);
        assert.equal(res.headers['content-type'], 'application/json');
        assert.equal(res.headers.connection, undefined, 'no connection-specific field in HTTP/2');
        assert.equal(backend.requests.length, 1);
        assert.equal(backend.requests[0].json.model, 'claude-sonnet-4-5');
        assert.equal(backend.requests[0].headers['x-api-key'], undefined, 'the relay key is not forwarded');
        assert.match(relay.logs(), /access .*method=POST path=\/v1\/messages provider=mock .*status=200/);
    });

    it('streams SSE event by event, byte for byte', async () => {
        const res = await h2request(session, { body: messagesBody(mockModel('sse', { events: 6, delay: 150 }), { stream: true }) });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
        assert.ok(res.body.equals(backend.requests[0].responseBody), 'client bytes equal upstream bytes');
        const text = parseSse(res.text).filter((e) => e.name === 'content_block_delta').map((e) => e.json.delta.text).join('');
        assert.equal(text, CANNED_TEXT);
        // Flushed as they came: the data arrived over several hundred ms, not at once at the end.
        const spread = res.chunks.at(-1).at - res.chunks[0].at;
        assert.ok(res.chunks.length >= 6 && spread >= 600, `${res.chunks.length} chunks over ${spread} ms`);
    });

    it('multiplexes many streams on one connection', async () => {
        const all = await Promise.all(Array.from({ length: 40 }, (_, i) => h2request(session, {
            body: messagesBody(mockModel('sse', { events: 3, delay: 20 }), { stream: true, metadata: { user_id: `u${i}` } }),
        })));
        for (const res of all) {
            assert.equal(res.status, 200, res.text);
            assert.match(res.text, /event: message_stop/);
        }
        assert.equal(backend.requests.length, 40);
    });

    it('answers the relay\'s own errors in Anthropic\'s shape over HTTP/2', async () => {
        const noKey = await h2request(session, { body: messagesBody(), headers: { 'x-api-key': 'wrong' } });
        assert.equal(noKey.status, 401);
        assert.equal(JSON.parse(noKey.text).error.type, 'authentication_error');
        const missing = await h2request(session, { method: 'GET', path: '/v1/nothing-here' });
        assert.equal(missing.status, 404);
        assert.equal(JSON.parse(missing.text).type, 'error');
        const bad = await h2request(session, { body: '{"model": "x", "messages": [' });
        assert.equal(bad.status, 400);
        assert.equal(JSON.parse(bad.text).error.type, 'invalid_request_error');
        // Over server.max_body_bytes: 413 before the body is read; the stream's rest is refused
        // and the connection carries on.
        const big = await h2request(session, { body: messagesBody(undefined, { pad: 'x'.repeat(200 * 1024) }) });
        assert.equal(big.status, 413);
        assert.equal(backend.requests.length, 0);
        const after413 = await h2request(session, { body: messagesBody() });
        assert.equal(after413.status, 200);
        // HEAD and GET of the relay's own routes.
        const models = await h2request(session, { method: 'GET', path: '/v1/models' });
        assert.equal(models.status, 200);
        assert.ok(Array.isArray(JSON.parse(models.text).data));
    });

    it('carries a request body sent in many DATA frames without a content-length', async () => {
        const body = Buffer.from(JSON.stringify(messagesBody(mockModel('echo'), { pad: 'y'.repeat(40 * 1024) })));
        const res = await withDeadline(new Promise((resolve, reject) => {
            const req = session.request({ ':method': 'POST', ':path': '/v1/messages', 'x-api-key': RELAY_KEY, 'content-type': 'application/json' });
            let text = '';
            let status;
            req.on('response', (h) => { status = h[':status']; });
            req.on('data', (d) => { text += d; });
            req.on('end', () => resolve({ status, text }));
            req.on('error', reject);
            for (let off = 0; off < body.length; off += 1000) req.write(body.subarray(off, off + 1000));
            req.end();
        }), 15_000, 'chunked upload');
        assert.equal(res.status, 200, res.text);
        assert.equal(backend.requests[0].body.length, body.length);
        assert.ok(backend.requests[0].body.equals(body), 'the upstream got the body intact');
    });

    it('holds a stream whose client stops reading without stalling the others', async () => {
        // A small window: the paused stream's data stops at the client after 16 KiB.
        const slow = await connect(relay.url, { settings: { initialWindowSize: 16 * 1024 } });
        // 16 MiB: more than every buffer on the way (loopback TCP, the socket pair) holds.
        const huge = { kind: 'sse', events: 4000, text: 'z'.repeat(16 * 1024 * 1024) };
        backend.setMode((rec) => (rec.json?.metadata?.user_id === 'big' ? huge : undefined));
        try {
            let paused;
            const big = h2request(slow, {
                body: messagesBody(undefined, { stream: true, metadata: { user_id: 'big' } }),
                onStream: (s) => { paused = s; s.pause(); },
                timeoutMs: 30_000,
            });
            await waitFor(() => backend.requests.length === 1, { what: 'the big stream reached the upstream' });
            // Another stream on the same connection completes while the first is held.
            const other = await h2request(slow, { body: messagesBody() });
            assert.equal(other.status, 200);
            await new Promise((r) => setTimeout(r, 500));
            assert.equal(backend.requests[0].finished, false, 'the held stream\'s upstream is paused by back-pressure');
            paused.resume();
            const res = await big;
            assert.equal(res.status, 200);
            assert.ok(res.body.equals(backend.requests[0].responseBody), 'every byte arrived, in order');
            assert.ok(res.body.length > 16 * 1024 * 1024, `${res.body.length} bytes`);
        } finally {
            slow.destroy();
        }
    });

    it('a client\'s stream reset cancels the upstream request; the connection carries on', async () => {
        let stream;
        const res = h2request(session, {
            body: messagesBody(mockModel('sse', { events: 50, delay: 100 }), { stream: true }),
            onStream: (s) => { stream = s; },
        }).catch((e) => e);
        await waitFor(() => backend.requests.length === 1, { what: 'the stream reached the upstream' });
        await new Promise((r) => setTimeout(r, 300));
        stream.close(http2.constants.NGHTTP2_CANCEL);
        await waitFor(() => backend.requests[0].clientClosedEarly, { timeoutMs: 5000, what: 'the upstream request cancelled' });
        await res;
        const next = await h2request(session, { body: messagesBody() });
        assert.equal(next.status, 200);
    });

    it('negotiates h2 by ALPN on the TLS listener', async () => {
        const tlsSession = await connect(`https://localhost:${tlsPort}`, { ca: certs.caPem });
        try {
            assert.equal(tlsSession.alpnProtocol, 'h2');
            const res = await h2request(tlsSession, { body: messagesBody(mockModel('sse', { events: 4 }), { stream: true }) });
            assert.equal(res.status, 200);
            assert.ok(res.body.equals(backend.requests[0].responseBody));
        } finally {
            tlsSession.destroy();
        }
        const { stdout } = await run('curl', ['-sS', '--http2', '--cacert', certs.caFile, '-o', '/dev/null',
            '-w', '%{http_version} %{http_code}', '-H', `x-api-key: ${RELAY_KEY}`,
            '--resolve', `localhost:${tlsPort}:127.0.0.1`, `https://localhost:${tlsPort}/v1/models`]);
        assert.equal(stdout, '2 200');
    });

    it('curl: prior knowledge, and Upgrade: h2c for a request without a body', async () => {
        const prior = await run('curl', ['-sS', '--http2-prior-knowledge', '-w', '\n%{http_version} %{http_code}',
            '-H', `x-api-key: ${RELAY_KEY}`, '-H', 'content-type: application/json',
            '-d', JSON.stringify(messagesBody()), `${relay.url}/v1/messages`]);
        assert.match(prior.stdout, /MOCK-CANNED-REPLY[\s\S]*\n2 200$/);
        const upgraded = await run('curl', ['-sS', '--http2', '-o', '/dev/null', '-w', '%{http_version} %{http_code}',
            '-H', `x-api-key: ${RELAY_KEY}`, `${relay.url}/v1/models`]);
        assert.equal(upgraded.stdout, '2 200');
        // With a body the upgrade is declined and the request is answered over HTTP/1.1.
        const withBody = await run('curl', ['-sS', '--http2', '-o', '/dev/null', '-w', '%{http_version} %{http_code}',
            '-H', `x-api-key: ${RELAY_KEY}`, '-H', 'content-type: application/json',
            '-d', JSON.stringify(messagesBody()), `${relay.url}/v1/messages`]);
        assert.equal(withBody.stdout, '1.1 200');
    });

    it('h2load: 400 requests over 4 connections, 25 streams each, all answered', async () => {
        const body = `${certs.dir}/h2load-body.json`;
        await import('node:fs/promises').then((fs) => fs.writeFile(body, JSON.stringify(messagesBody())));
        const { stdout } = await run('h2load', ['-n', '400', '-c', '4', '-m', '25', '-d', body,
            '-H', `x-api-key: ${RELAY_KEY}`, '-H', 'content-type: application/json', `${relay.url}/v1/messages`],
        { timeout: 60_000 });
        assert.match(stdout, /requests: 400 total, 400 started, 400 done, 400 succeeded, 0 failed, 0 errored/, stdout);
        assert.match(stdout, /status codes: 400 2xx/, stdout);
        assert.equal(backend.requests.length, 400);
    });

    it('a reload\'s drain lets a stream finish, then ends the connection with GOAWAY', async () => {
        const s = await connect(relay.url);
        try {
            let goaway = false;
            s.on('goaway', () => { goaway = true; });
            const streaming = h2request(s, { body: messagesBody(mockModel('sse', { events: 10, delay: 200 }), { stream: true }), timeoutMs: 30_000 });
            await waitFor(() => backend.requests.length === 1, { what: 'the stream started' });
            const before = relay.logs().length;
            process.kill(relay.proc.pid, 'SIGHUP');
            await waitFor(() => /reloaded: generation/.test(relay.logs().slice(before)), { timeoutMs: 15_000, what: 'reload' });
            const res = await streaming;
            assert.equal(res.status, 200);
            assert.ok(res.body.equals(backend.requests[0].responseBody), 'the stream finished whole');
            await waitFor(() => goaway, { timeoutMs: 10_000, what: 'GOAWAY' });
        } finally {
            s.destroy();
        }
        // The new generation serves HTTP/2 on a new connection.
        const fresh = await connect(relay.url);
        try {
            const res = await h2request(fresh, { body: messagesBody() });
            assert.equal(res.status, 200);
        } finally {
            fresh.destroy();
        }
        session.destroy();
        session = await connect(relay.url);
    });
});

describe('HTTP/2 off (the default)', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    before(async () => {
        backend = await startBackend();
        relay = await startRelay({ providers: [mockProvider(backend)] });
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    it('a client preface is a malformed HTTP/1.1 request', async () => {
        const res = await rawExchange(relay.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
        assert.match(res.data, /^HTTP\/1\.1 400 /);
        const upgraded = await run('curl', ['-sS', '--http2', '-o', '/dev/null', '-w', '%{http_version} %{http_code}',
            `${relay.url}/v1/models`]);
        assert.equal(upgraded.stdout, '1.1 200');
    });

    it('turning it on takes effect at a reload', async () => {
        const config = JSON.parse(relay.configText);
        config.server.enable_http2 = true;
        await writeFile(relay.configFile, JSON.stringify(config));
        const before = relay.logs().length;
        process.kill(relay.proc.pid, 'SIGHUP');
        await waitFor(() => /reloaded: generation 2/.test(relay.logs().slice(before)), { timeoutMs: 15_000, what: 'reload' });
        const prior = await run('curl', ['-sS', '--http2-prior-knowledge', '-o', '/dev/null', '-w', '%{http_version} %{http_code}',
            `${relay.url}/v1/models`]);
        assert.equal(prior.stdout, '2 200');
    });
});
