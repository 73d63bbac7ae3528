// Byte fidelity under less friendly conditions: events split across reads (also inside UTF-8
// sequences), large streams and bodies, and many concurrent streams that must not mix.

import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';

import { messagesBody, parseSse, postJson, withDeadline } from '../lib/http.mjs';
import { ctx } from '../lib/expect.mjs';
import { relayOverMock } from '../lib/relay.mjs';

const deltaText = (res) => parseSse(res.text).filter((e) => e.name === 'content_block_delta')
    .map((e) => e.json.delta.text).join('');

describe('relay fidelity', { timeout: 60_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; });

    it('relays SSE events that arrive split in two reads, cut inside UTF-8 sequences', async () => {
        const text = '漢字かな🚀🚀 émoji ünïcödé — '.repeat(6);
        backend.setMode({ kind: 'sse', events: 12, split: true, splitDelay: 30, text });
        const res = await postJson(relay.url, '/v1/messages', messagesBody(undefined, { stream: true }));
        assert.equal(res.status, 200, ctx(res, relay));
        assert.ok(res.body.equals(backend.requests[0].responseBody), 'client bytes equal upstream bytes');
        assert.equal(deltaText(res), text);
    });

    it('relays a large stream (3000 deltas) byte for byte', async () => {
        const text = Array.from({ length: 3000 }, (_, i) => `chunk ${i} ü漢🚀 `).join('');
        backend.setMode({ kind: 'sse', events: 3000, text });
        const res = await postJson(relay.url, '/v1/messages', messagesBody(undefined, { stream: true }),
            { timeoutMs: 20_000 });
        assert.equal(res.status, 200, ctx(res, relay));
        const sent = backend.requests[0].responseBody;
        assert.ok(sent.length > 400_000, `${sent.length} bytes`);
        assert.ok(res.body.equals(sent), `client ${res.body.length} bytes vs upstream ${sent.length}`);
        assert.equal(deltaText(res), text);
    });

    it('relays a 3 MiB non-streaming answer byte for byte', async () => {
        backend.setMode({ kind: 'json', text: 'ü漢🚀 '.repeat(350_000) });
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), { timeoutMs: 20_000 });
        assert.equal(res.status, 200, ctx(res, relay));
        const sent = backend.requests[0].responseBody;
        assert.ok(sent.length > 3_000_000, `${sent.length} bytes`);
        assert.ok(res.body.equals(sent));
    });

    // Claude Code requests with long histories or images are often several MiB; the default
    // server.max_body_bytes is 32 MiB, so a 3 MiB body must get through.
    it('forwards a 3 MiB request body byte for byte (default max_body_bytes)', async () => {
        const body = messagesBody('claude-big', {
            messages: [{ role: 'user', content: 'long prompt ü漢🚀 '.repeat(160_000) }],
        });
        const raw = Buffer.from(JSON.stringify(body));
        assert.ok(raw.length > 3_000_000);
        const res = await postJson(relay.url, '/v1/messages', raw, { timeoutMs: 20_000 });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.ok(backend.requests[0].body.equals(raw));
    });

    it('keeps 20 concurrent streams apart', async () => {
        backend.setMode((rec) => ({
            kind: 'sse', events: 10, delay: 15, text: `answer for ${rec.json?.metadata?.user_id} `.repeat(3),
        }));
        const ids = Array.from({ length: 20 }, (_, i) => `user-${i}`);
        const results = await Promise.all(ids.map((id) => postJson(relay.url, '/v1/messages',
            messagesBody(undefined, { stream: true, metadata: { user_id: id } }), { timeoutMs: 20_000 })));
        assert.equal(backend.requests.length, 20);
        results.forEach((res, i) => {
            assert.equal(res.status, 200, ctx(res, relay));
            assert.equal(deltaText(res), `answer for ${ids[i]} `.repeat(3));
            const rec = backend.requests.find((r) => r.json.metadata.user_id === ids[i]);
            assert.ok(res.body.equals(rec.responseBody), `stream ${ids[i]} bytes`);
        });
    });

    it('relays an upstream answer sent with Content-Length and one sent chunked alike', async () => {
        const payload = JSON.stringify({ type: 'message', role: 'assistant', content: [{ type: 'text', text: 'ü漢🚀' }] });
        for (const chunked of [false, true]) {
            backend.reset();
            backend.setMode({ kind: 'raw', status: 200, chunked, headers: { 'content-type': 'application/json' }, body: payload });
            const res = await postJson(relay.url, '/v1/messages', messagesBody());
            assert.equal(res.status, 200, ctx(res, relay));
            assert.equal(res.text, payload, `chunked=${chunked}`);
            assert.match(String(res.headers['content-type']), /^application\/json/);
        }
    });

    it('delivers every byte to a client that stops reading for a while (backpressure)', async () => {
        // ~3.5 MB: more than the socket buffers hold, so the relay has to stop reading upstream.
        const text = Array.from({ length: 20_000 }, (_, i) => `slow reader ${i} ü漢🚀 `).join('');
        backend.setMode({ kind: 'sse', events: 20_000, text });
        const body = await withDeadline(new Promise((resolve, reject) => {
            const req = http.request(relay.url + '/v1/messages', {
                method: 'POST', agent: false,
                headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
            }, (res) => {
                const chunks = [];
                res.once('data', (d) => {
                    chunks.push(d);
                    res.pause();
                    // Resume once the upstream has finished or made no progress for 300 ms
                    // (the relay is holding it back); nothing may be lost meanwhile.
                    const rec = backend.requests[0];
                    let last = -1;
                    let still = 0;
                    const check = setInterval(() => {
                        const n = rec.responseBytes.length;
                        still = n === last ? still + 1 : 0;
                        last = n;
                        if (rec.finished || rec.clientClosedEarly || still >= 15) {
                            clearInterval(check);
                            res.on('data', (c) => chunks.push(c));
                            res.resume();
                        }
                    }, 20);
                });
                res.on('end', () => resolve(Buffer.concat(chunks)));
                res.on('aborted', () => reject(new Error('aborted')));
            });
            req.on('error', reject);
            req.end(JSON.stringify(messagesBody(undefined, { stream: true })));
        }), 20_000, 'slow reader stream');
        assert.ok(body.equals(backend.requests[0].responseBody),
            `client ${body.length} bytes vs upstream ${backend.requests[0].responseBody.length}`);
    });
});
