// POST /v1/messages with "stream": true: SSE relayed byte for byte, flushed per event, headers,
// upstream disconnects, and client disconnects cancelling the upstream request.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import { eventArrivalTimes, messagesBody, parseSse, postJson, withDeadline } from '../lib/http.mjs';
import { ctx } from '../lib/expect.mjs';
import { relayOverMock } from '../lib/relay.mjs';
import { CANNED_TEXT, mockModel } from '../mocks/backend.mjs';

describe('POST /v1/messages (streaming)', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; });

    it('relays the SSE bytes exactly as the upstream sent them', async () => {
        const res = await postJson(relay.url, '/v1/messages',
            messagesBody(mockModel('sse', { events: 12 }), { stream: true }));
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(backend.requests.length, 1);
        const sent = backend.requests[0].responseBody;
        assert.ok(sent.length > 1000);
        assert.equal(res.text, sent.toString('utf8'));
        assert.ok(res.body.equals(sent), 'client bytes equal upstream bytes');
        const events = parseSse(res.text);
        assert.equal(events[0].name, 'message_start');
        assert.equal(events.at(-1).name, 'message_stop');
        const text = events.filter((e) => e.name === 'content_block_delta').map((e) => e.json.delta.text).join('');
        assert.equal(text, CANNED_TEXT);
    });

    it('sends the SSE response headers: upstream Content-Type, no-cache/no-transform, no buffering', async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody(undefined, { stream: true }));
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
        assert.equal(res.headers['cache-control'], 'no-cache, no-transform');
        assert.equal(res.headers['x-accel-buffering'], 'no');
        assert.equal(res.headers['content-length'], undefined, 'a stream has no Content-Length');
    });

    it('decides streaming from the body, not from Accept: application/json', async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody(undefined, { stream: true }),
            { headers: { accept: 'application/json' } });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.match(String(res.headers['content-type']), /^text\/event-stream/);
        assert.equal(res.headers['cache-control'], 'no-cache, no-transform');
        assert.ok(res.body.equals(backend.requests[0].responseBody));
    });

    it('flushes each event as it arrives (300 ms apart upstream, spread out at the client)', async () => {
        // 4 text deltas -> 10 events, 9 gaps of 300 ms: ~2.7 s from first to last upstream.
        const res = await postJson(relay.url, '/v1/messages',
            messagesBody(mockModel('sse', { events: 4, delay: 300 }), { stream: true }), { timeoutMs: 15_000 });
        assert.equal(res.status, 200, ctx(res, relay));
        const times = eventArrivalTimes(res.chunks);
        assert.equal(times.length, 10, `10 events (got ${times.length})`);
        const first = times[0];
        const last = times.at(-1);
        assert.ok(last - first >= 2000,
            `the first event arrives long before the last (first ${first} ms, last ${last} ms, all ${times})`);
        assert.ok(times[4] <= last - 1000, `a middle event is not held back (times ${times})`);
        assert.ok(res.body.equals(backend.requests[0].responseBody));
    });

    it('ends the client response when the upstream drops the connection mid-stream', async () => {
        const started = Date.now();
        const outcome = await withDeadline(new Promise((resolve) => {
            const req = http.request(relay.url + '/v1/messages', {
                method: 'POST',
                headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
                agent: false,
            }, (res) => {
                const chunks = [];
                res.on('data', (d) => chunks.push(d));
                const done = (how) => resolve({ how, status: res.statusCode, text: Buffer.concat(chunks).toString() });
                res.on('end', () => done('end'));
                res.on('aborted', () => done('aborted'));
                res.on('error', () => done('error'));
            });
            req.on('error', (err) => resolve({ how: 'request-error', err }));
            req.end(JSON.stringify(messagesBody(mockModel('disconnect', { after: 4 }), { stream: true })));
        }), 8000, 'client response after an upstream disconnect');
        assert.equal(outcome.status, 200, JSON.stringify(outcome));
        const sent = backend.requests[0].responseBody.toString('utf8');
        assert.ok(sent.length > 0);
        assert.ok(outcome.text.startsWith(sent), 'the client got every byte the upstream sent before dropping');
        assert.ok(!outcome.text.includes('event: message_stop'), 'no message_stop is invented');
        assert.ok(Date.now() - started < 8000);
    });

    it('cancels the upstream request when the client disconnects', async () => {
        // 20 deltas, 200 ms apart: the upstream would take ~5 s to finish on its own.
        const firstChunk = await withDeadline(new Promise((resolve, reject) => {
            const req = http.request(relay.url + '/v1/messages', {
                method: 'POST',
                headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
                agent: false,
            }, (res) => {
                res.once('data', (d) => {
                    req.destroy(); // the client goes away after the first event
                    resolve({ at: Date.now(), data: d.toString(), status: res.statusCode });
                });
                res.on('error', () => {});
            });
            req.on('error', (err) => { if (err.code !== 'ECONNRESET') reject(err); });
            req.end(JSON.stringify(messagesBody(mockModel('sse', { events: 20, delay: 200 }), { stream: true })));
        }), 5000, 'first SSE chunk');
        assert.equal(firstChunk.status, 200);
        assert.match(firstChunk.data, /event: message_start/);
        const rec = backend.requests[0];
        await withDeadline(rec.closed, 2500, 'upstream connection closed after the client left');
        assert.equal(rec.clientClosedEarly, true, 'the upstream saw its connection close before it finished');
        assert.equal(rec.finished, false);
        assert.ok(Date.now() - firstChunk.at < 2500);
    });

    it('cancels the upstream request when the client leaves before any response byte', async () => {
        const req = http.request(relay.url + '/v1/messages', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
            agent: false,
        });
        req.on('error', () => {});
        req.end(JSON.stringify(messagesBody(mockModel('hang'))));
        const rec = await backend.waitForRequest(() => true, 5000);
        req.destroy();
        await withDeadline(rec.closed, 2500, 'upstream connection closed after the client left');
        assert.equal(rec.clientClosedEarly, true);
    });
});
