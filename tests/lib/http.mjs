// Small HTTP client helpers with exact control over what goes on the wire, and deadlines on
// every wait.

import http from 'node:http';
import net from 'node:net';

/** Reject if `promise` does not settle within `ms`. */
export function withDeadline(promise, ms, what = 'operation') {
    let timer;
    return Promise.race([
        promise,
        new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
        }),
    ]).finally(() => clearTimeout(timer));
}

/** Poll `cond` (sync or async) until truthy or the deadline passes; returns its value. */
export async function waitFor(cond, { timeoutMs = 5000, intervalMs = 20, what = 'condition' } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const v = await cond();
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`${what}: not met within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, intervalMs));
    }
}

/**
 * One HTTP/1.1 request. body: Buffer | string | object (JSON-encoded); chunked: send it with
 * Transfer-Encoding: chunked instead of Content-Length.
 * Resolves with { status, headers, rawHeaders, body (Buffer), text, json(), socket, chunks }.
 * `chunks` is [{ at (ms since request start), data }] for timing checks.
 */
export function request(url, { method = 'GET', headers = {}, body, agent, timeoutMs = 10_000, chunked = false } = {}) {
    const u = new URL(url);
    let payload;
    if (body !== undefined) {
        payload = Buffer.isBuffer(body) ? body
            : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    }
    const hdrs = { ...headers };
    const hasCT = Object.keys(hdrs).some((k) => k.toLowerCase() === 'content-type');
    if (payload && !hasCT) hdrs['content-type'] = 'application/json';
    if (payload && !chunked && !Object.keys(hdrs).some((k) => k.toLowerCase() === 'content-length')) {
        hdrs['content-length'] = String(payload.length);
    }
    const started = Date.now();
    const p = new Promise((resolve, reject) => {
        const req = http.request({
            host: u.hostname,
            port: u.port,
            path: u.pathname + u.search,
            method,
            headers: hdrs,
            agent: agent ?? false,
        }, (res) => {
            const chunks = [];
            res.on('data', (d) => chunks.push({ at: Date.now() - started, data: d }));
            res.on('end', () => {
                const buf = Buffer.concat(chunks.map((c) => c.data));
                resolve({
                    status: res.statusCode,
                    headers: res.headers,
                    rawHeaders: res.rawHeaders,
                    body: buf,
                    text: buf.toString('utf8'),
                    json() { return JSON.parse(buf.toString('utf8')); },
                    socket: req.socket,
                    reusedSocket: req.reusedSocket,
                    localPort: req.socket?.localPort,
                    chunks,
                });
            });
            res.on('error', reject);
            res.on('aborted', () => reject(new Error('response aborted')));
        });
        req.on('error', reject);
        if (payload && chunked) {
            // Transfer-Encoding: chunked, in pieces of at most 1000 bytes.
            for (let i = 0; i < payload.length; i += 1000) req.write(payload.subarray(i, i + 1000));
        } else if (payload) {
            req.write(payload);
        }
        req.end();
    });
    return withDeadline(p, timeoutMs, `${method} ${url}`);
}

/** POST JSON to the relay's /v1/messages (or another path). */
export function postJson(baseUrl, path, body, { headers = {}, ...rest } = {}) {
    return request(baseUrl + path, {
        method: 'POST',
        headers: { 'anthropic-version': '2023-06-01', ...headers },
        body,
        ...rest,
    });
}

/**
 * Split an SSE byte stream into events at blank lines ("\n\n"); each event is
 * { name, data (string), json (parsed data or undefined), raw }.
 */
export function parseSse(text) {
    const events = [];
    for (const raw of text.split('\n\n')) {
        if (!raw.trim()) continue;
        let name;
        const data = [];
        for (const line of raw.split('\n')) {
            if (line.startsWith('event:')) name = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        let json;
        try { json = JSON.parse(data.join('\n')); } catch { json = undefined; }
        events.push({ name, data: data.join('\n'), json, raw });
    }
    return events;
}

/**
 * Arrival time (ms since request start) of each complete SSE event, from response chunks.
 */
export function eventArrivalTimes(chunks) {
    const times = [];
    let buffered = '';
    for (const c of chunks) {
        buffered += c.data.toString('utf8');
        let i;
        while ((i = buffered.indexOf('\n\n')) >= 0) {
            times.push(c.at);
            buffered = buffered.slice(i + 2);
        }
    }
    return times;
}

/**
 * Write raw bytes to host:port and collect what comes back until the server closes or
 * `timeoutMs` passes. Resolves { data (string), closedByServer, elapsedMs }.
 */
export function rawExchange(port, raw, { host = '127.0.0.1', timeoutMs = 5000 } = {}) {
    return new Promise((resolve, reject) => {
        const started = Date.now();
        const sock = net.connect({ host, port });
        const chunks = [];
        let settled = false;
        const finish = (closedByServer) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            sock.destroy();
            resolve({ data: Buffer.concat(chunks).toString('utf8'), closedByServer, elapsedMs: Date.now() - started });
        };
        const timer = setTimeout(() => finish(false), timeoutMs);
        sock.on('data', (d) => chunks.push(d));
        sock.on('end', () => finish(true));
        sock.on('close', () => finish(true));
        sock.on('error', (err) => {
            if (err.code === 'ECONNRESET') finish(true); else if (!settled) { settled = true; reject(err); }
        });
        sock.on('connect', () => {
            if (raw) sock.write(raw);
        });
    });
}

/** Parse the status line and headers of a raw HTTP/1.1 response. */
export function parseRawResponse(text) {
    const end = text.indexOf('\r\n\r\n');
    const head = end < 0 ? text : text.slice(0, end);
    const [statusLine, ...lines] = head.split('\r\n');
    const m = statusLine.match(/^HTTP\/1\.[01] (\d{3})/);
    const headers = {};
    for (const l of lines) {
        const c = l.indexOf(':');
        if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
    }
    return { status: m ? Number(m[1]) : undefined, headers, body: end < 0 ? '' : text.slice(end + 4) };
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
export async function closedPort() {
    const srv = net.createServer();
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address();
    await new Promise((r) => srv.close(r));
    return port;
}

/** A minimal valid Messages request body. */
export function messagesBody(model = 'claude-sonnet-4-5', extra = {}) {
    return {
        model,
        max_tokens: 64,
        messages: [{ role: 'user', content: 'say hi' }],
        ...extra,
    };
}
