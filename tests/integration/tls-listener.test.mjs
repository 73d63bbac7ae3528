// server.tls: an HTTPS listener beside the plain one (issue 11). Requests and SSE streams over
// TLS, TLS 1.2 at least, HTTP/1.1 by ALPN, and a reload that renews the certificate without
// dropping a stream that is in flight on the old one.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';

import { messagesBody, parseSse, postJson, waitFor } from '../lib/http.mjs';
import { mockProvider, startRelay } from '../lib/relay.mjs';
import { mockModel, startBackend } from '../mocks/backend.mjs';
import { makeCerts } from '../mocks/certs.mjs';

const HTTPS_RE = /listening on https:\/\/[^\s]+:(\d+) \(server\.tls\)/;

// One HTTPS request; resolves { status, text, cert (the server's leaf, PEM-less fingerprint), alpn }.
function httpsRequest(port, { ca, method = 'POST', pathname = '/v1/messages', body, agent = false, onData } = {}) {
    return new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const req = https.request({
            host: '127.0.0.1', port, servername: 'localhost', method, path: pathname, ca, agent,
            headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
        }, (res) => {
            let text = '';
            res.on('data', (d) => { text += d; onData?.(d); });
            res.on('end', () => resolve({
                status: res.statusCode, text, fingerprint: res.socket.getPeerCertificate?.()?.fingerprint256,
                alpn: res.socket.alpnProtocol,
            }));
            res.on('error', reject);
        });
        req.on('error', reject);
        req.setTimeout(15_000, () => req.destroy(new Error('timed out')));
        if (payload) req.write(payload);
        req.end();
    });
}

const fingerprintOf = (pem) => new X509Certificate(pem).fingerprint256;

describe('HTTPS listener', { timeout: 90_000 }, () => {
    let backend;
    let relay;
    let certs;
    let tlsPort;
    let liveCert;  // where the config points: the files a reload re-reads
    let liveKey;

    before(async () => {
        certs = await makeCerts();
        backend = await startBackend();
        liveCert = path.join(certs.dir, 'live.pem');
        liveKey = path.join(certs.dir, 'live.key');
        await copyFile(certs.certFile, liveCert);
        await copyFile(certs.keyFile, liveKey);
        relay = await startRelay({
            server: { workers: 2, drain_timeout_ms: 15_000, tls: { listen: '127.0.0.1:0', cert_file: liveCert, key_file: liveKey } },
            providers: [mockProvider(backend)],
        });
        tlsPort = Number((await relay.waitForLog(HTTPS_RE))[1]);
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
        await certs?.cleanup();
    });

    it('relays a request over HTTPS, and plain HTTP still works beside it', async () => {
        const res = await httpsRequest(tlsPort, { ca: certs.caPem, body: messagesBody() });
        assert.equal(res.status, 200, res.text);
        assert.match(res.text, /MOCK-CANNED-REPLY/);
        assert.equal(res.fingerprint, fingerprintOf(certs.cert));
        const plain = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(plain.status, 200);
    });

    it('streams SSE over HTTPS event by event', async () => {
        const arrivals = [];
        const res = await httpsRequest(tlsPort, {
            ca: certs.caPem,
            body: messagesBody(mockModel('sse', { events: 5, delay: 150 }), { stream: true }),
            onData: () => arrivals.push(Date.now()),
        });
        assert.equal(res.status, 200);
        const events = parseSse(res.text);
        assert.equal(events.filter((e) => e.name === 'content_block_delta').length, 5);
        assert.equal(events.at(-1).name, 'message_stop');
        assert.ok(arrivals.at(-1) - arrivals[0] >= 450, 'events arrived as they were sent, not at once');
    });

    it('refuses TLS below 1.2 and speaks HTTP/1.1 by ALPN', async () => {
        await assert.rejects(new Promise((resolve, reject) => {
            const s = tls.connect({ host: '127.0.0.1', port: tlsPort, servername: 'localhost', ca: certs.caPem,
                minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, () => { s.end(); resolve(); });
            s.on('error', reject);
        }));
        const alpn = await new Promise((resolve, reject) => {
            const s = tls.connect({ host: '127.0.0.1', port: tlsPort, servername: 'localhost', ca: certs.caPem,
                ALPNProtocols: ['h2', 'http/1.1'] }, () => { resolve(s.alpnProtocol); s.end(); });
            s.on('error', reject);
        });
        assert.equal(alpn, 'http/1.1');
    });

    it('a client that never finishes the handshake is closed at read_header_timeout, others are served', async () => {
        const net = await import('node:net');
        const s = net.connect({ host: '127.0.0.1', port: tlsPort });
        let closed = false;
        s.on('error', () => {});
        s.on('close', () => { closed = true; });
        s.write(Buffer.from([0x16, 0x03, 0x01]));  // the start of a ClientHello, then nothing
        const res = await httpsRequest(tlsPort, { ca: certs.caPem, body: messagesBody() });
        assert.equal(res.status, 200);
        // DEFAULT read_header_timeout_ms is 10 s; only check it is still bounded, not held forever.
        await waitFor(() => closed, { timeoutMs: 12_000, what: 'the stalled handshake closed' });
    });

    it('a reload renews the certificate without dropping a stream in flight', async () => {
        const streamDone = httpsRequest(tlsPort, {
            ca: certs.caPem,
            body: messagesBody(mockModel('sse', { events: 8, delay: 250 }), { stream: true }),
        });
        await waitFor(() => backend.requests.length > 0 && backend.requests.at(-1).body.includes('sse'),
            { what: 'the stream started' });
        const next = await makeCerts();
        try {
            await writeFile(liveCert, next.cert);
            await writeFile(liveKey, next.key);
            const before = relay.logs().length;
            process.kill(relay.proc.pid, 'SIGHUP');
            await waitFor(() => /reloaded: generation 2/.test(relay.logs().slice(before)), { timeoutMs: 15_000, what: 'reload' });
            const fresh = await httpsRequest(tlsPort, { ca: next.caPem, body: messagesBody() });
            assert.equal(fresh.status, 200);
            assert.equal(fresh.fingerprint, fingerprintOf(next.cert));
            const old = await streamDone;
            assert.equal(old.status, 200);
            const events = parseSse(old.text);
            assert.equal(events.filter((e) => e.name === 'content_block_delta').length, 8);
            assert.equal(events.at(-1).name, 'message_stop');
        } finally {
            await next.cleanup();
        }
    });

    it('a reload whose key does not fit is refused with the reason, and HTTPS keeps serving', async () => {
        const current = await httpsRequest(tlsPort, { ca: undefined, body: messagesBody() }).catch(() => null);
        assert.equal(current, null, 'the test CA is not trusted by default');
        await writeFile(liveKey, certs.key);  // the first certificate's key beside the second certificate
        const before = relay.logs().length;
        process.kill(relay.proc.pid, 'SIGHUP');
        await waitFor(() => /reload rejected.*server\.tls\.key_file/.test(relay.logs().slice(before)),
            { timeoutMs: 15_000, what: 'reload rejected' });
        const fp = await new Promise((resolve, reject) => {
            const s = tls.connect({ host: '127.0.0.1', port: tlsPort, servername: 'localhost', rejectUnauthorized: false },
                () => { resolve(s.getPeerCertificate().fingerprint256); s.end(); });
            s.on('error', reject);
        });
        assert.notEqual(fp, fingerprintOf(certs.cert), 'still the renewed certificate');
        const plain = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(plain.status, 200);
    });
});

describe('HTTPS listener start-up', { timeout: 30_000 }, () => {
    it('a key that does not fit the certificate stops the start with the file and the reason', async () => {
        const a = await makeCerts();
        const b = await makeCerts();
        try {
            await assert.rejects(startRelay({
                server: { tls: { listen: '127.0.0.1:0', cert_file: a.certFile, key_file: b.keyFile } },
                providers: [{ name: 'p', type: 'anthropic', enabled: true, base_url: 'http://127.0.0.1:9' }],
            }, { readyTimeoutMs: 10_000 }), /server\.tls\.key_file ".*server\.key" does not match server\.tls\.cert_file/);
            await assert.rejects(startRelay({
                server: { tls: { listen: '127.0.0.1:0', cert_file: a.certFile } },
                providers: [{ name: 'p', type: 'anthropic', enabled: true, base_url: 'http://127.0.0.1:9' }],
            }, { readyTimeoutMs: 10_000 }), /server\.tls\.key_file is required with server\.tls\.listen/);
        } finally {
            await a.cleanup();
            await b.cleanup();
        }
    });
});
