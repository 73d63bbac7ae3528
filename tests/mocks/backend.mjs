// An in-process mock of an Anthropic-compatible backend, for the black-box tests.
//
//   const backend = await startBackend();                 // plain HTTP on 127.0.0.1:<ephemeral>
//   const backend = await startBackend({ tls: { key, cert } });   // HTTPS (see certs.mjs)
//   const backend = await startBackend({ tls: { key, cert, http2: true } });   // h2 or HTTP/1.1 by ALPN
//   const backend = await startBackend({ port });        // a given port (a provider that comes back)
//
// Every request is recorded in `backend.requests` (method, url, path, query, headers, raw body,
// parsed JSON, the exact response bytes sent, and whether the client went away before the
// response finished). What the mock answers is chosen per request:
//
//   1. an override installed with `backend.setMode(spec | (rec) => spec | undefined)`;
//   2. else the body's `model` when it starts with `mock:` — `mock:<kind>;key=value;...`,
//      e.g. `mock:sse;events=10;delay=300`, `mock:error;status=529`, `mock:echo`;
//   3. else the default: count_tokens → {"input_tokens": N}; /v1/messages → an SSE stream when
//      the body says `"stream": true`, a JSON Message otherwise; any other path → 404.
//
// Spec kinds (objects with `kind` plus options):
//   json        { text, status, headers, firstByteDelay }
//   sse         { events (number of text deltas), delay (ms between events), text,
//                 firstByteDelay, contentType, split (write each event in two halves),
//                 splitDelay (ms between the halves) }
//   error       { status (400|401|404|429|500|529|…), errorType, message, retryAfter }
//   echo        answers 200 JSON {"type":"echo", method, url, headers, body}
//   disconnect  { after (number of SSE events written before the socket is destroyed, 0 = before
//                 the status line) }
//   hang        never answers (the relay's timeouts are tested against this)
//   count_tokens { inputTokens }
//   not_found   Anthropic-shaped 404
//   raw         { status, headers, body, chunked (no Content-Length, two chunks) }

import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { randomBytes } from 'node:crypto';

import { requestLog } from './request-log.mjs';

export const CANNED_TEXT = 'Hello from the cc-relay mock backend: MOCK-CANNED-REPLY-7F3A.';
export const MOCK_COUNT_TOKENS = 4242;
export const MOCK_USAGE = Object.freeze({
    input_tokens: 321,
    output_tokens: 57,
    cache_read_input_tokens: 1024,
    cache_creation_input_tokens: 64,
});

const ERROR_TYPES = {
    400: ['invalid_request_error', 'prompt is too long: 219898 tokens > 200000 maximum'],
    401: ['authentication_error', 'invalid x-api-key'],
    403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
    404: ['not_found_error', 'Not found'],
    413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
    429: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit (mock)'],
    500: ['api_error', 'Internal server error (mock)'],
    503: ['api_error', 'Service unavailable (mock)'],
    529: ['overloaded_error', 'Overloaded (mock)'],
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function newId(prefix) {
    return prefix + randomBytes(12).toString('hex');
}

/** Parse `mock:<kind>;k=v;k=v` into a spec (numbers converted). */
export function parseModelSpec(model) {
    if (typeof model !== 'string' || !model.startsWith('mock:')) return undefined;
    const [kind, ...opts] = model.slice(5).split(';');
    const spec = { kind };
    for (const o of opts) {
        const eq = o.indexOf('=');
        if (eq < 0) { spec[o] = true; continue; }
        const k = o.slice(0, eq);
        const v = o.slice(eq + 1);
        spec[k] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
    }
    return spec;
}

/** Build a model string selecting a mock behaviour: mockModel('sse', {events: 10, delay: 300}). */
export function mockModel(kind, opts = {}) {
    return ['mock:' + kind, ...Object.entries(opts).map(([k, v]) => `${k}=${v}`)].join(';');
}

/** A realistic non-streaming Message (~1 KiB). */
export function messageBody(model, text = CANNED_TEXT, usage = MOCK_USAGE) {
    return {
        id: newId('msg_mock'),
        type: 'message',
        role: 'assistant',
        model: model ?? 'claude-mock',
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        stop_details: null,
        usage: {
            input_tokens: usage.input_tokens,
            cache_creation_input_tokens: usage.cache_creation_input_tokens,
            cache_read_input_tokens: usage.cache_read_input_tokens,
            cache_creation: {
                ephemeral_5m_input_tokens: usage.cache_creation_input_tokens,
                ephemeral_1h_input_tokens: 0,
            },
            output_tokens: usage.output_tokens,
            service_tier: 'standard',
            inference_geo: 'not_available',
            server_tool_use: null,
        },
        container: null,
        // Padding that a real answer would not have, to reach a realistic size and make byte
        // comparisons meaningful (the SDKs ignore unknown fields).
        mock_metadata: {
            note: 'This object is produced by tests/mocks/backend.mjs. ' +
                'It exists so that non-streaming bodies have a realistic size of about one KiB, ' +
                'and the relay has something to copy byte for byte: ümlaut, 漢字, emoji 🚀. ' +
                'Escapes too: \u2028 \\ \" \t, and a long tail of filler so the answer is a bit over ' +
                'one KiB in total, like a short real reply with its usage block.',
            generated_at: new Date().toISOString(),
        },
    };
}

export function errorBody(status, errorType, message) {
    const [t, m] = ERROR_TYPES[status] ?? ['api_error', `mock error ${status}`];
    return {
        type: 'error',
        error: { type: errorType ?? t, message: message ?? m },
        request_id: newId('req_mock'),
    };
}

/** The SSE events of one streamed answer, as strings ending in "\n\n". */
export function sseEvents(model, { events = 5, text = CANNED_TEXT, usage = MOCK_USAGE } = {}) {
    const n = Math.max(1, events);
    // Split text into n pieces (last pieces may be empty if the text is short).
    const pieces = [];
    const size = Math.ceil(text.length / n);
    for (let i = 0; i < n; i++) pieces.push(text.slice(i * size, (i + 1) * size));
    const msg = messageBody(model, '', usage);
    msg.content = [];
    msg.stop_reason = null;
    delete msg.mock_metadata;
    msg.usage = { ...msg.usage, output_tokens: 1 };
    const ev = (name, data) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    const out = [];
    out.push(ev('message_start', { type: 'message_start', message: msg }));
    out.push(ev('content_block_start', {
        type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' },
    }));
    out.push(ev('ping', { type: 'ping' }));
    for (const p of pieces) {
        out.push(ev('content_block_delta', {
            type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p },
        }));
    }
    out.push(ev('content_block_stop', { type: 'content_block_stop', index: 0 }));
    out.push(ev('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null, stop_details: null },
        usage: {
            input_tokens: usage.input_tokens,
            cache_creation_input_tokens: usage.cache_creation_input_tokens,
            cache_read_input_tokens: usage.cache_read_input_tokens,
            output_tokens: usage.output_tokens,
        },
    }));
    out.push(ev('message_stop', { type: 'message_stop' }));
    return out;
}

/**
 * Start the mock. Options: { tls: {key, cert}, host: '127.0.0.1' }.
 * Returns { url, port, requests, setMode, reset, waitForRequest, close }.
 */
export async function startBackend({ tls, host = '127.0.0.1', port: wantedPort = 0 } = {}) {
    const log = requestLog('mock backend');
    const { requests } = log;
    let override;
    const sockets = new Set();

    const handler = async (req, res) => {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const body = Buffer.concat(chunks);
        let json = null;
        try { json = body.length ? JSON.parse(body.toString('utf8')) : null; } catch { json = null; }
        const qi = req.url.indexOf('?');
        const rec = {
            method: req.method,
            url: req.url,
            path: qi < 0 ? req.url : req.url.slice(0, qi),
            query: qi < 0 ? '' : req.url.slice(qi + 1),
            headers: { ...req.headers },
            rawHeaders: [...req.rawHeaders],
            body,
            json,
            receivedAt: Date.now(),
            remotePort: req.socket.remotePort, // identifies the upstream connection the relay used
            httpVersion: req.httpVersion,      // '1.1' or '2.0'
            responseBytes: [],   // Buffers written to the response body, in order
            responseStatus: undefined,
            responseHeaders: undefined,
            finished: false,          // the whole response was handed to the socket
            clientClosedEarly: false, // the connection closed before the response finished
        };
        // Resolves when the TCP connection that carried this request closes (either side).
        rec.connectionClosed = req.socket.destroyed ? Promise.resolve()
            : new Promise((r) => req.socket.once('close', r));
        let resolveClosed;
        rec.closed = new Promise((r) => { resolveClosed = r; });
        Object.defineProperty(rec, 'responseBody', {
            get() { return Buffer.concat(rec.responseBytes); },
        });
        res.on('finish', () => { rec.finished = true; });
        res.on('close', () => {
            if (!res.writableFinished) rec.clientClosedEarly = true;
            resolveClosed(rec);
        });
        log.add(rec);

        let spec;
        if (typeof override === 'function') spec = override(rec);
        else if (override) spec = override;
        spec ??= parseModelSpec(json?.model);
        spec ??= defaultSpec(rec);
        try {
            await respond(spec, rec, req, res);
        } catch (err) {
            if (!res.headersSent) {
                res.writeHead(500, { 'content-type': 'text/plain' });
                res.end(`mock backend failure: ${err?.stack ?? err}`);
            } else {
                res.destroy();
            }
        }
    };

    let server;
    if (tls?.http2) {
        server = http2.createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: true }, handler);
    } else {
        server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
    }
    server.keepAliveTimeout = 30_000;
    let accepted = 0;
    let handshakes = 0;
    server.on('connection', (s) => {
        accepted++;
        s.setNoDelay(true);
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
    });
    server.on('secureConnection', (s) => { handshakes++; s.setNoDelay(true); });
    // TLS handshake failures (the relay refusing our certificate) are expected in some tests.
    server.on('tlsClientError', () => {});

    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(wantedPort, host, resolve);
    });
    const port = server.address().port;
    const scheme = tls ? 'https' : 'http';
    const urlHost = tls ? 'localhost' : host;

    return {
        url: `${scheme}://${urlHost}:${port}`,
        port,
        requests,
        /** Install an override for every following request (undefined: back to model-driven). */
        setMode(specOrFn) { override = typeof specOrFn === 'string' ? { kind: specOrFn } : specOrFn; },
        /** TCP connections accepted so far, and those still open. */
        acceptedConnections: () => accepted,
        /** TLS handshakes completed so far. */
        tlsHandshakes: () => handshakes,
        openConnections: () => sockets.size,
        /** How long an idle kept-alive connection stays open before the mock closes it. */
        setKeepAliveTimeout(ms) { server.keepAliveTimeout = ms; },
        /** Forget recorded requests and the override. */
        reset() { requests.length = 0; override = undefined; },
        /** Resolve with the first recorded request matching pred (default: any) within timeoutMs. */
        waitForRequest: log.waitFor,
        async close() {
            for (const s of sockets) s.destroy();
            await new Promise((r) => server.close(() => r()));
        },
    };
}

function defaultSpec(rec) {
    if (rec.method === 'POST' && rec.path === '/v1/messages/count_tokens') return { kind: 'count_tokens' };
    if (rec.method === 'POST' && rec.path === '/v1/messages') {
        return rec.json?.stream === true ? { kind: 'sse' } : { kind: 'json' };
    }
    return { kind: 'not_found' };
}

function track(rec, res) {
    const origWrite = res.write.bind(res);
    const origEnd = res.end.bind(res);
    res.write = (chunk, ...rest) => {
        if (chunk != null && typeof chunk !== 'function') rec.responseBytes.push(Buffer.from(chunk));
        return origWrite(chunk, ...rest);
    };
    res.end = (chunk, ...rest) => {
        if (chunk != null && typeof chunk !== 'function') rec.responseBytes.push(Buffer.from(chunk));
        return origEnd(chunk, ...rest);
    };
}

function sendJson(rec, res, status, obj, extraHeaders = {}) {
    const body = Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj));
    const headers = {
        'content-type': 'application/json',
        'content-length': body.length,
        'request-id': newId('req_mock'),
        ...extraHeaders,
    };
    rec.responseStatus = status;
    rec.responseHeaders = headers;
    res.writeHead(status, headers);
    res.end(body);
}

async function respond(spec, rec, req, res) {
    track(rec, res);
    const model = rec.json?.model;
    if (spec.firstByteDelay) await sleep(spec.firstByteDelay);
    if (res.destroyed) return;
    switch (spec.kind) {
    case 'json':
        return sendJson(rec, res, spec.status ?? 200, messageBody(model, spec.text ?? CANNED_TEXT),
            spec.headers);
    case 'count_tokens':
        return sendJson(rec, res, 200, { input_tokens: spec.inputTokens ?? MOCK_COUNT_TOKENS });
    case 'not_found':
        return sendJson(rec, res, 404, errorBody(404, 'not_found_error', `mock: no route ${rec.method} ${rec.path}`));
    case 'echo':
        return sendJson(rec, res, 200, {
            type: 'echo',
            method: rec.method,
            url: rec.url,
            headers: rec.headers,
            body: rec.body.toString('utf8'),
        });
    case 'error': {
        const status = spec.status ?? 500;
        const headers = {};
        if (status === 429) headers['retry-after'] = String(spec.retryAfter ?? 7);
        headers['x-mock-error'] = String(status);
        return sendJson(rec, res, status, errorBody(status, spec.errorType, spec.message), headers);
    }
    case 'raw': {
        const body = Buffer.from(spec.body ?? '');
        rec.responseStatus = spec.status ?? 200;
        rec.responseHeaders = spec.chunked ? { ...(spec.headers ?? {}) }
            : { 'content-length': body.length, ...(spec.headers ?? {}) };
        res.writeHead(rec.responseStatus, rec.responseHeaders);
        if (!spec.chunked) return res.end(body);
        // Transfer-Encoding: chunked, in two chunks with a pause between them.
        const cut = Math.floor(body.length / 2);
        await new Promise((r) => res.write(body.subarray(0, cut), r));
        await sleep(20);
        return res.end(body.subarray(cut));
    }
    case 'hang':
        // Keep the request open until the client gives up.
        await new Promise((r) => res.on('close', r));
        return;
    case 'disconnect':
    case 'sse': {
        const events = sseEvents(model, { events: spec.events ?? 5, text: spec.text ?? CANNED_TEXT });
        if (spec.kind === 'disconnect' && !spec.after) {
            req.socket.destroy();
            return;
        }
        const headers = {
            'content-type': spec.contentType ?? 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache',
            'request-id': newId('req_mock'),
            'anthropic-ratelimit-requests-remaining': '99',
        };
        rec.responseStatus = 200;
        rec.responseHeaders = headers;
        res.writeHead(200, headers);
        res.flushHeaders();
        const delay = spec.delay ?? 0;
        for (let i = 0; i < events.length; i++) {
            if (res.destroyed) return;
            if (spec.kind === 'disconnect' && i === spec.after) {
                res.socket?.destroy();
                return;
            }
            if (i > 0 && delay) await sleep(delay);
            if (res.destroyed) return;
            if (spec.split) {
                // Two writes per event, cut in the middle of the bytes (possibly inside a UTF-8
                // sequence), with a pause between them: the relay sees events split across reads.
                const buf = Buffer.from(events[i]);
                const cut = Math.floor(buf.length / 2);
                await new Promise((r) => res.write(buf.subarray(0, cut), r));
                if (spec.splitDelay) await sleep(spec.splitDelay);
                if (res.destroyed) return;
                res.write(buf.subarray(cut));
            } else if (spec.kind === 'disconnect') {
                // Wait until the bytes are handed to the kernel, so that what the recording says
                // was sent really left before the socket is destroyed.
                await new Promise((r) => res.write(events[i], r));
            } else {
                res.write(events[i]);
            }
        }
        res.end();
        return;
    }
    default:
        return sendJson(rec, res, 500, errorBody(500, 'api_error', `mock: unknown spec kind ${spec.kind}`));
    }
}
