// The HTTP plumbing the cloud fakes share (bedrock.mjs, vertex.mjs, foundry.mjs): a loopback
// server that records every request and hands it to the fake's handler with the mode a test
// installed.
//
//   const fake = await startFake(async (rec, res, spec) => { ... });
//   fake.url, fake.requests, fake.setMode(spec | (rec) => spec | undefined), fake.reset(),
//   await fake.waitForRequest(pred), await fake.close()
//
// A record: { method, url, path, query, headers (lower-case names), rawHeaders, body (Buffer),
// json (parsed body or undefined), responseStatus, responseHeaders, responseBytes (Buffers in
// write order), responseBody (their concatenation) } plus whatever the fake adds.

import http from 'node:http';

import { requestLog } from './request-log.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startFake(handler) {
    const log = requestLog('fake');
    const { requests } = log;
    const sockets = new Set();
    let mode;

    const server = http.createServer(async (req, res) => {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const body = Buffer.concat(chunks);
        let json;
        try { json = body.length ? JSON.parse(body.toString('utf8')) : undefined; } catch { json = undefined; }
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
            responseStatus: undefined,
            responseHeaders: undefined,
            responseBytes: [],
        };
        Object.defineProperty(rec, 'responseBody', { get: () => Buffer.concat(rec.responseBytes) });
        track(rec, res);
        log.add(rec);
        const spec = typeof mode === 'function' ? mode(rec) : mode;
        try {
            await handler(rec, res, spec);
        } catch (err) {
            if (!res.headersSent) {
                res.writeHead(500, { 'content-type': 'text/plain' });
                res.end(`fake failure: ${err?.stack ?? err}`);
            } else {
                res.destroy();
            }
        }
    });
    server.on('connection', (s) => {
        s.setNoDelay(true); // each res.write() leaves as its own TCP segment(s)
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
    });
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
    });
    const { port } = server.address();
    return {
        url: `http://127.0.0.1:${port}`,
        port,
        requests,
        /** Every following request gets this spec (or fn(rec)'s); undefined: the default answer. */
        setMode(specOrFn) { mode = specOrFn; },
        reset() { requests.length = 0; mode = undefined; },
        waitForRequest: log.waitFor,
        async close() {
            for (const s of sockets) s.destroy();
            await new Promise((r) => server.close(() => r()));
        },
    };
}

function track(rec, res) {
    const write = res.write.bind(res);
    const end = res.end.bind(res);
    const writeHead = res.writeHead.bind(res);
    res.writeHead = (status, ...rest) => {
        rec.responseStatus = status;
        rec.responseHeaders = rest.find((x) => x && typeof x === 'object');
        return writeHead(status, ...rest);
    };
    res.write = (chunk, ...rest) => {
        if (chunk != null && typeof chunk !== 'function') rec.responseBytes.push(Buffer.from(chunk));
        return write(chunk, ...rest);
    };
    res.end = (chunk, ...rest) => {
        if (chunk != null && typeof chunk !== 'function') rec.responseBytes.push(Buffer.from(chunk));
        return end(chunk, ...rest);
    };
}

/** A JSON answer with Content-Length. */
export function sendJson(res, status, obj, headers = {}) {
    const body = Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj));
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...headers });
    res.end(body);
}

/**
 * Write `buf` in pieces cut at `cuts` (byte offsets), each piece its own write, `pauseMs` after
 * each: the reader sees the bytes split wherever the cuts fall.
 */
export async function writeInPieces(res, buf, cuts, pauseMs = 5) {
    let at = 0;
    for (const c of [...new Set(cuts)].filter((x) => x > 0 && x < buf.length).sort((a, b) => a - b)) {
        if (res.destroyed) return;
        await new Promise((r) => res.write(buf.subarray(at, c), r));
        at = c;
        await sleep(pauseMs);
    }
    if (!res.destroyed && at < buf.length) await new Promise((r) => res.write(buf.subarray(at), r));
}

/** Form fields of an application/x-www-form-urlencoded body, as an object. */
export function formFields(rec) {
    return Object.fromEntries(new URLSearchParams(rec.body.toString('utf8')));
}
