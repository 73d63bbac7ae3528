// Hostile input (issue 11): request smuggling attempts, oversized and overfull heads, slowloris,
// idle connections beyond server.max_connections. Each case gets the right status, nothing
// reaches the upstream that should not, and a normal request is answered while the attack runs.

import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';

import { parseRawResponse, postJson, rawExchange, messagesBody, waitFor } from '../lib/http.mjs';
import { mockProvider, relayOverMock, startRelay } from '../lib/relay.mjs';
import { mockModel, startBackend } from '../mocks/backend.mjs';

const BODY = JSON.stringify(messagesBody());
const head = (...lines) => lines.join('\r\n') + '\r\n\r\n';

// Every answer in the data of a raw exchange (a desynchronised parser answers twice).
const statuses = (data) => [...data.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

describe('request smuggling and framing', { timeout: 60_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; });

    const refused = {
        'Content-Length with Transfer-Encoding': head('POST /v1/messages HTTP/1.1', 'Host: x',
            `Content-Length: ${BODY.length}`, 'Transfer-Encoding: chunked') +
            `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`,
        'two different Content-Lengths': head('POST /v1/messages HTTP/1.1', 'Host: x',
            `Content-Length: ${BODY.length}`, `Content-Length: ${BODY.length + 5}`) + BODY,
        'two equal Content-Lengths': head('POST /v1/messages HTTP/1.1', 'Host: x',
            `Content-Length: ${BODY.length}`, `Content-Length: ${BODY.length}`) + BODY,
        'Transfer-Encoding identity, chunked': head('POST /v1/messages HTTP/1.1', 'Host: x',
            'Transfer-Encoding: identity, chunked') + `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`,
        // Read to the end of the connection, its body was once parsed as a second request.
        'Transfer-Encoding gzip': head('POST /v1/messages HTTP/1.1', 'Host: x', 'Transfer-Encoding: gzip') +
            head('GET /v1/providers HTTP/1.1', 'Host: x'),
        'unknown Transfer-Encoding beside Content-Length': head('POST /v1/messages HTTP/1.1', 'Host: x',
            'Transfer-Encoding: xchunked', `Content-Length: ${BODY.length}`) + BODY,
        'two Transfer-Encodings': head('POST /v1/messages HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked',
            'Transfer-Encoding: chunked') + `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`,
        'Transfer-Encoding on HTTP/1.0': head('POST /v1/messages HTTP/1.0', 'Host: x',
            'Transfer-Encoding: chunked') + `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`,
        'no Host': head('POST /v1/messages HTTP/1.1', `Content-Length: ${BODY.length}`) + BODY,
        'two Hosts': head('POST /v1/messages HTTP/1.1', 'Host: a', 'Host: b', `Content-Length: ${BODY.length}`) + BODY,
        'bare LF line ends': ['POST /v1/messages HTTP/1.1', 'Host: x', `Content-Length: ${BODY.length}`, '', BODY].join('\n'),
        'space before the colon': head('POST /v1/messages HTTP/1.1', 'Host: x', `Content-Length : ${BODY.length}`) + BODY,
        'signed Content-Length': head('POST /v1/messages HTTP/1.1', 'Host: x', `Content-Length: +${BODY.length}`) + BODY,
        'NUL in a field value': head('POST /v1/messages HTTP/1.1', 'Host: x', 'X-A: a\0b',
            `Content-Length: ${BODY.length}`) + BODY,
    };
    for (const [name, raw] of Object.entries(refused)) {
        it(`${name}: one 400 invalid_request_error, nothing upstream, connection closed`, async () => {
            const out = await rawExchange(relay.port, raw, { timeoutMs: 4000 });
            assert.deepEqual(statuses(out.data), [400], out.data);
            assert.ok(out.closedByServer, 'the connection must be closed after a framing error');
            const body = JSON.parse(parseRawResponse(out.data).body);
            assert.equal(body.error.type, 'invalid_request_error');
            assert.match(body.error.message, /malformed HTTP request/);
            assert.equal(backend.requests.length, 0);
        });
    }

    it('an obs-fold continues the field before it and cannot start a new one', async () => {
        const out = await rawExchange(relay.port, head('POST /v1/messages HTTP/1.1', 'Host: x',
            'Content-Type: application/json', 'X-Folded: a', ' Transfer-Encoding: chunked',
            `Content-Length: ${BODY.length}`, 'Connection: close') + BODY, { timeoutMs: 4000 });
        assert.deepEqual(statuses(out.data), [200], out.data);
        assert.equal(backend.requests.length, 1);
        assert.equal(backend.requests[0].headers['x-folded'], 'a Transfer-Encoding: chunked');
        assert.equal(backend.requests[0].headers['transfer-encoding'], undefined);
        assert.equal(backend.requests[0].body.toString(), BODY);
    });

    it('a pipelined request after a framed body is a request of its own, answered in order', async () => {
        const out = await rawExchange(relay.port, head('POST /v1/messages HTTP/1.1', 'Host: x',
            'Content-Type: application/json', `Content-Length: ${BODY.length}`) + BODY +
            head('GET /health HTTP/1.1', 'Host: x', 'Connection: close'), { timeoutMs: 4000 });
        assert.deepEqual(statuses(out.data), [200, 200], out.data);
        assert.equal(backend.requests.length, 1);
    });

    it('a head over max_header_bytes gets 431, one under it is served', async () => {
        const big = 'x'.repeat(70 * 1024);
        const out = await rawExchange(relay.port, head('GET /health HTTP/1.1', 'Host: x', `X-Big: ${big}`), { timeoutMs: 4000 });
        assert.deepEqual(statuses(out.data), [431], out.data.slice(0, 300));
        const body = JSON.parse(parseRawResponse(out.data).body);
        assert.equal(body.error.type, 'invalid_request_error');
        assert.match(body.error.message, /server\.max_header_bytes \(65536 bytes\)/);
        const ok = await rawExchange(relay.port, head('GET /health HTTP/1.1', 'Host: x', `X-Big: ${'x'.repeat(60 * 1024)}`,
            'Connection: close'), { timeoutMs: 4000 });
        assert.deepEqual(statuses(ok.data), [200]);
    });

    it('more than 256 header fields get 431 before anything goes upstream', async () => {
        const fields = Array.from({ length: 300 }, (_, i) => `X-H-${i}: v`);
        const out = await rawExchange(relay.port, head('POST /v1/messages HTTP/1.1', 'Host: x', ...fields,
            `Content-Length: ${BODY.length}`) + BODY, { timeoutMs: 4000 });
        assert.deepEqual(statuses(out.data), [431], out.data.slice(0, 300));
        assert.match(JSON.parse(parseRawResponse(out.data).body).error.message, /too many header fields \(302; at most 256\)/);
        assert.equal(backend.requests.length, 0);
    });

    it('the worker still serves after all of the above', async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(res.status, 200);
    });
});

describe('configured limits', { timeout: 60_000 }, () => {
    it('server.max_header_bytes sets the head limit; config validate bounds it', async () => {
        const backend = await startBackend();
        const relay = await startRelay({ server: { max_header_bytes: 2048 }, providers: [mockProvider(backend)] });
        try {
            const over = await rawExchange(relay.port, head('GET /health HTTP/1.1', 'Host: x', `X-Big: ${'x'.repeat(2100)}`), { timeoutMs: 4000 });
            assert.deepEqual(statuses(over.data), [431]);
            const under = await rawExchange(relay.port, head('GET /health HTTP/1.1', 'Host: x', `X-Big: ${'x'.repeat(1800)}`,
                'Connection: close'), { timeoutMs: 4000 });
            assert.deepEqual(statuses(under.data), [200]);
        } finally {
            await relay.stop();
            await backend.close();
        }
        await assert.rejects(startRelay({ server: { max_header_bytes: 100 }, providers: [] }, { readyTimeoutMs: 5000 }),
            /server\.max_header_bytes/);
    });
});

// Opens `count` connections that each send a request head one byte at a time, `everyMs` apart.
// Returns { sockets, closed (count of those the relay closed), stop() }.
function trickle(port, count, everyMs, text = 'POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Pad: ' + 'p'.repeat(4000)) {
    const state = { sockets: [], closed: 0, timers: [] };
    for (let i = 0; i < count; ++i) {
        const s = net.connect({ host: '127.0.0.1', port });
        let pos = 0;
        s.on('error', () => {});
        s.on('close', () => { state.closed += 1; });
        s.on('connect', () => {
            const t = setInterval(() => {
                if (s.destroyed || pos >= text.length) return clearInterval(t);
                s.write(text[pos++]);
            }, everyMs);
            state.timers.push(t);
        });
        state.sockets.push(s);
    }
    state.stop = () => {
        for (const t of state.timers) clearInterval(t);
        for (const s of state.sockets) s.destroy();
    };
    return state;
}

async function timedRequest(relay) {
    const t0 = Date.now();
    const res = await postJson(relay.url, '/v1/messages', messagesBody(), { timeoutMs: 5000 });
    return { status: res.status, ms: Date.now() - t0 };
}

describe('slowloris', { timeout: 90_000 }, () => {
    it('2 000 connections trickling heads: normal requests are answered at once, the trickles cut at read_header_timeout', async () => {
        const backend = await startBackend();
        const relay = await startRelay({
            server: { workers: 2, read_header_timeout_ms: 2000 },
            providers: [mockProvider(backend)],
        });
        const attack = trickle(relay.port, 2000, 200);
        try {
            await new Promise((r) => setTimeout(r, 500));
            for (let i = 0; i < 5; ++i) {
                const r = await timedRequest(relay);
                assert.equal(r.status, 200);
                assert.ok(r.ms < 1000, `a normal request took ${r.ms} ms during the attack`);
            }
            // Each trickle is still sending (one byte per 200 ms), so only the head deadline can
            // have closed it.
            await waitFor(() => attack.closed === 2000, { timeoutMs: 8000, what: `all trickles closed (${attack.closed})` });
        } finally {
            attack.stop();
            await relay.stop();
            await backend.close();
        }
    });

    it('at server.max_connections an idle or headless connection makes room for a newcomer', async () => {
        const backend = await startBackend();
        const relay = await startRelay({
            server: { workers: 1, max_connections: 20, read_header_timeout_ms: 30000 },
            providers: [mockProvider(backend)],
        });
        const attack = trickle(relay.port, 200, 500);
        try {
            await new Promise((r) => setTimeout(r, 500));
            for (let i = 0; i < 5; ++i) {
                const r = await timedRequest(relay);
                assert.equal(r.status, 200);
                assert.ok(r.ms < 1000, `a normal request took ${r.ms} ms with the cap full of trickles`);
            }
            // The cap holds: at most 20 of the 200 are open (the rest were closed for newcomers).
            await waitFor(() => attack.closed >= 180, { timeoutMs: 5000, what: `trickles closed (${attack.closed})` });
        } finally {
            attack.stop();
            await relay.stop();
            await backend.close();
        }
    });

    it('the oldest idle keep-alive connection is the one closed at the cap', async () => {
        const backend = await startBackend();
        const relay = await startRelay({
            server: { workers: 1, max_connections: 3 },
            providers: [mockProvider(backend)],
        });
        const opened = [];
        try {
            for (let i = 0; i < 3; ++i) {
                const s = net.connect({ host: '127.0.0.1', port: relay.port });
                const conn = { s, closed: false, data: '' };
                s.on('close', () => { conn.closed = true; });
                s.on('data', (d) => { conn.data += d; });
                await new Promise((r) => s.on('connect', r));
                s.write(head('GET /health HTTP/1.1', 'Host: x'));
                await waitFor(() => conn.data.includes('\r\n\r\n'), { what: `answer on connection ${i}` });
                opened.push(conn);
                await new Promise((r) => setTimeout(r, 50));
            }
            const r = await timedRequest(relay);  // a fourth connection
            assert.equal(r.status, 200);
            await waitFor(() => opened[0].closed, { timeoutMs: 3000, what: 'the oldest idle connection closed' });
            assert.equal(opened[1].closed, false);
            assert.equal(opened[2].closed, false);
        } finally {
            for (const c of opened) c.s.destroy();
            await relay.stop();
            await backend.close();
        }
    });

    it('with every connection serving a request, a newcomer gets 529 overloaded_error, and service resumes', async () => {
        const backend = await startBackend();
        const relay = await startRelay({
            server: { workers: 1, max_connections: 2 },
            providers: [mockProvider(backend)],
        });
        try {
            const slow = [1, 2].map(() => postJson(relay.url, '/v1/messages',
                messagesBody(mockModel('json', { firstByteDelay: 1500 })), { timeoutMs: 10_000 }));
            await waitFor(() => backend.requests.length === 2, { what: 'two requests in flight' });
            const out = await rawExchange(relay.port, head('POST /v1/messages HTTP/1.1', 'Host: x',
                `Content-Length: ${BODY.length}`) + BODY, { timeoutMs: 4000 });
            assert.deepEqual(statuses(out.data), [529], out.data);
            const body = JSON.parse(parseRawResponse(out.data).body);
            assert.equal(body.error.type, 'overloaded_error');
            assert.match(body.error.message, /server\.max_connections = 2/);
            for (const res of await Promise.all(slow)) assert.equal(res.status, 200);
            assert.equal((await timedRequest(relay)).status, 200);
        } finally {
            await relay.stop();
            await backend.close();
        }
    });

    it('a kept-alive connection idles for idle_timeout, but its next head must arrive within read_header_timeout', async () => {
        const backend = await startBackend();
        const relay = await startRelay({
            server: { workers: 1, read_header_timeout_ms: 1000, idle_timeout_ms: 10_000 },
            providers: [mockProvider(backend)],
        });
        try {
            const s = net.connect({ host: '127.0.0.1', port: relay.port });
            let data = '';
            let closedAt = 0;
            s.on('data', (d) => { data += d; });
            s.on('close', () => { closedAt = Date.now(); });
            // The cut may come as a reset: a trickled byte the relay never read when it closed
            // makes the kernel answer with RST (seen once in an asan CI run). Either way is a cut.
            s.on('error', () => {});
            await new Promise((r) => s.on('connect', r));
            s.write(head('GET /health HTTP/1.1', 'Host: x'));
            await waitFor(() => statuses(data).length === 1, { what: 'first answer' });
            // Idle longer than read_header_timeout: still open, and served.
            await new Promise((r) => setTimeout(r, 1500));
            assert.equal(closedAt, 0, 'closed while idle within idle_timeout');
            s.write(head('GET /health HTTP/1.1', 'Host: x'));
            await waitFor(() => statuses(data).length === 2, { what: 'second answer after idling' });
            // A third head trickled: cut about read_header_timeout after its first byte.
            const text = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: ' + 'p'.repeat(100);
            const started = Date.now();
            let pos = 0;
            const t = setInterval(() => { if (!s.destroyed && pos < text.length) s.write(text[pos++]); }, 100);
            await waitFor(() => closedAt > 0, { timeoutMs: 5000, what: 'the trickled head cut' });
            clearInterval(t);
            const held = closedAt - started;
            assert.ok(held >= 800 && held < 2500, `held ${held} ms (read_header_timeout 1000, idle 10000)`);
        } finally {
            await relay.stop();
            await backend.close();
        }
    });
});

describe('bodies that are not valid JSON', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; });

    const send = (bodyBytes) => rawExchange(relay.port, Buffer.concat([
        Buffer.from(head('POST /v1/messages HTTP/1.1', 'Host: x', 'Content-Type: application/json',
            `Content-Length: ${bodyBytes.length}`, 'Connection: close')), bodyBytes]), { timeoutMs: 4000 });
    const prefix = '{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"metadata":';

    for (const [name, tail, where] of [
        ['a missing value deep in a part the relay does not read', '{"a":[1,,2]}}', /at byte \d+: unexpected character/],
        ['a bad escape', '{"a":"x\\qy"}}', /invalid escape/],
        ['a leading zero', '{"a":012}}', /after an object member|expected/],
        ['nesting deeper than 1024 levels', '['.repeat(2000) + ']'.repeat(2000) + '}', /nesting deeper than 1024 levels/],
    ]) {
        it(`${name}: 400 invalid_request_error, not forwarded`, async () => {
            const out = await send(Buffer.from(prefix + tail));
            const res = parseRawResponse(out.data);
            assert.equal(res.status, 400, out.data);
            const body = JSON.parse(res.body);
            assert.equal(body.error.type, 'invalid_request_error');
            assert.match(body.error.message, /^malformed JSON/);
            assert.match(body.error.message, where);
            assert.equal(backend.requests.length, 0);
        });
    }

    it('invalid UTF-8 in a string: 400, not forwarded', async () => {
        const out = await send(Buffer.concat([Buffer.from(prefix + '{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]));
        assert.equal(parseRawResponse(out.data).status, 400, out.data);
        assert.equal(backend.requests.length, 0);
    });

    it('valid JSON an upstream may frown on (a lone surrogate escape, deep but legal nesting) is forwarded byte for byte', async () => {
        const bytes = Buffer.from(prefix + '{"cut":"\\ud83d","deep":' + '['.repeat(1000) + ']'.repeat(1000) + '}}');
        const out = await send(bytes);
        assert.equal(parseRawResponse(out.data).status, 200, out.data.slice(0, 300));
        assert.equal(backend.requests.length, 1);
        assert.deepEqual(backend.requests[0].body, bytes);
    });
});
