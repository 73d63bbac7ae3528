// Failover between two enabled providers: a connect error, 429, 500 or 529 from the first
// (before any response byte) sends the request to the second, and the client gets its answer.
// Each case gets a fresh relay, so circuit-breaker state from one case cannot leak into another.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { closedPort, messagesBody, parseSse, postJson } from '../lib/http.mjs';
import { ctx } from '../lib/expect.mjs';
import { startRelay } from '../lib/relay.mjs';
import { CANNED_TEXT, startBackend } from '../mocks/backend.mjs';

describe('failover', { timeout: 40_000 }, () => {
    let first;
    let second;
    before(async () => {
        first = await startBackend();
        second = await startBackend();
    });
    after(async () => {
        await first?.close();
        await second?.close();
    });

    async function relayFor(t, firstUrl, routing = {}) {
        first.reset();
        second.reset();
        const relay = await startRelay({
            server: { connect_timeout_ms: 2000 },
            routing: { strategy: 'failover', debug: true, ...routing },
            providers: [
                { name: 'first', type: 'anthropic', enabled: true, base_url: firstUrl,
                    keys: [{ key: 'sk-first' }] },
                { name: 'second', type: 'anthropic', enabled: true, base_url: second.url,
                    keys: [{ key: 'sk-second' }] },
            ],
        });
        t.after(() => relay.stop());
        return relay;
    }

    it('uses the first provider while it answers', async (t) => {
        const relay = await relayFor(t, first.url);
        const res = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(first.requests.length, 1);
        assert.equal(second.requests.length, 0);
        assert.ok(res.body.equals(first.requests[0].responseBody));
    });

    it('fails over to the second provider on a connect error', async (t) => {
        const relay = await relayFor(t, `http://127.0.0.1:${await closedPort()}`);
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), { timeoutMs: 8000 });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(second.requests.length, 1);
        assert.ok(res.body.equals(second.requests[0].responseBody), 'the client gets the second answer');
        assert.equal(second.requests[0].headers['x-api-key'], 'sk-second');
        assert.equal(res.headers['x-cc-relay-provider'], 'second');
        assert.equal(res.headers['x-cc-relay-attempts'], '2');
    });

    for (const status of [429, 500, 529]) {
        it(`fails over to the second provider on an upstream ${status}`, async (t) => {
            const relay = await relayFor(t, first.url);
            first.setMode({ kind: 'error', status });
            const res = await postJson(relay.url, '/v1/messages', messagesBody());
            assert.equal(res.status, 200, ctx(res, relay));
            assert.equal(first.requests.length, 1, 'the first provider was tried');
            assert.equal(second.requests.length, 1, 'the second provider was tried');
            assert.ok(res.body.equals(second.requests[0].responseBody), 'the client gets the second answer');
            assert.ok(first.requests[0].body.equals(second.requests[0].body), 'the same body is replayed');
        });
    }

    it('fails over a streaming request on an upstream 529 and relays the second stream', async (t) => {
        const relay = await relayFor(t, first.url);
        first.setMode({ kind: 'error', status: 529 });
        const res = await postJson(relay.url, '/v1/messages', messagesBody(undefined, { stream: true }));
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(second.requests.length, 1);
        assert.ok(res.body.equals(second.requests[0].responseBody));
        const text = parseSse(res.text).filter((e) => e.name === 'content_block_delta')
            .map((e) => e.json.delta.text).join('');
        assert.equal(text, CANNED_TEXT);
    });

    // DESIGN.md: only connect errors, timeouts, 429, 5xx and 529 fail over; a 400 is the client's
    // problem and goes back as it is.
    it('does not fail over on an upstream 400', async (t) => {
        const relay = await relayFor(t, first.url);
        first.setMode({ kind: 'error', status: 400 });
        const res = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(res.status, 400, ctx(res, relay));
        assert.equal(second.requests.length, 0);
        assert.ok(res.body.equals(first.requests[0].responseBody));
    });

    it('relays the last provider\'s error unmodified when every provider fails', async (t) => {
        const relay = await relayFor(t, first.url);
        first.setMode({ kind: 'error', status: 529 });
        second.setMode({ kind: 'error', status: 500 });
        const res = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(first.requests.length, 1);
        assert.equal(second.requests.length, 1);
        assert.equal(res.status, 500, ctx(res, relay));
        assert.ok(res.body.equals(second.requests[0].responseBody), 'the second answer, unmodified');
    });

    it('routing.max_attempts stops after that many providers: the last one\'s error, unmodified', async (t) => {
        const relay = await relayFor(t, first.url, { max_attempts: 1 });
        first.setMode({ kind: 'error', status: 529 });
        const res = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(res.status, 529, ctx(res, relay));
        assert.equal(second.requests.length, 0, 'no second attempt');
        assert.ok(res.body.equals(first.requests[0].responseBody));
    });

    it('routing.failover_timeout gives up on a stream whose provider stalls before its head', async (t) => {
        const relay = await relayFor(t, first.url, { failover_timeout: 400 });
        first.setMode({ kind: 'hang' });
        const started = Date.now();
        const res = await postJson(relay.url, '/v1/messages', messagesBody(undefined, { stream: true }), { timeoutMs: 8000 });
        const took = Date.now() - started;
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(second.requests.length, 1);
        assert.ok(res.body.equals(second.requests[0].responseBody));
        assert.equal(res.headers['x-cc-relay-attempts'], '2');
        assert.ok(took >= 350 && took < 4000, `moved on after the failover timeout (${took} ms)`);
    });

    it('routing.failover_timeout does not cut a non-streaming answer, which comes whole', async (t) => {
        const relay = await relayFor(t, first.url, { failover_timeout: 300 });
        first.setMode({ kind: 'json', firstByteDelay: 900 });
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), { timeoutMs: 8000 });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(second.requests.length, 0, 'the slow but working provider answered');
        assert.ok(res.body.equals(first.requests[0].responseBody));
    });

    it('never sends to a disabled provider, and skips it in the failover order', async (t) => {
        first.reset();
        second.reset();
        const third = await startBackend();
        t.after(() => third.close());
        const relay = await startRelay({
            providers: [
                { name: 'first', type: 'anthropic', enabled: true, base_url: first.url },
                { name: 'off', type: 'anthropic', enabled: false, base_url: second.url },
                { name: 'third', type: 'anthropic', enabled: true, base_url: third.url },
            ],
        });
        t.after(() => relay.stop());
        first.setMode({ kind: 'error', status: 429 });
        const res = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(second.requests.length, 0, 'the disabled provider saw nothing');
        assert.equal(third.requests.length, 1);
        assert.ok(res.body.equals(third.requests[0].responseBody));
    });

    it('never fails over once response bytes have reached the client (mid-stream disconnect)', async (t) => {
        const relay = await relayFor(t, first.url);
        first.setMode({ kind: 'disconnect', after: 4 });
        const res = await postJson(relay.url, '/v1/messages', messagesBody(undefined, { stream: true }))
            .catch((err) => ({ error: err }));
        assert.equal(second.requests.length, 0, 'the second provider is not tried after the first byte');
        if (!res.error) {
            assert.equal(res.status, 200);
            assert.ok(res.text.startsWith(first.requests[0].responseBody.toString('utf8')));
            assert.ok(!res.text.includes('event: message_stop'), 'nothing from another provider is appended');
        }
    });
});

// A chain of the three ways a provider fails before answering: it refuses the connection, it
// stalls past server.response_header_timeout_ms, it answers 529. Each is given up for the next.
describe('failover through refused, stalled and overloaded providers', { timeout: 40_000 }, () => {
    const backends = [];
    before(async () => {
        for (let i = 0; i < 3; i++) backends.push(await startBackend());
    });
    after(async () => {
        for (const b of backends) await b.close();
    });

    for (const stream of [false, true]) {
        it(`the client gets 200 from the fourth provider (${stream ? 'streaming' : 'non-streaming'})`, async (t) => {
            const [stalled, overloaded, good] = backends;
            for (const b of backends) b.reset();
            stalled.setMode({ kind: 'hang' });
            overloaded.setMode({ kind: 'error', status: 529 });
            const relay = await startRelay({
                server: { connect_timeout_ms: 2000, response_header_timeout_ms: 500 },
                routing: { strategy: 'failover', debug: true },
                providers: [
                    { name: 'refused', type: 'anthropic', enabled: true,
                        base_url: `http://127.0.0.1:${await closedPort()}`, keys: [{ key: 'sk-1' }] },
                    { name: 'stalled', type: 'anthropic', enabled: true, base_url: stalled.url, keys: [{ key: 'sk-2' }] },
                    { name: 'overloaded', type: 'anthropic', enabled: true, base_url: overloaded.url, keys: [{ key: 'sk-3' }] },
                    { name: 'good', type: 'anthropic', enabled: true, base_url: good.url, keys: [{ key: 'sk-4' }] },
                ],
            });
            t.after(() => relay.stop());
            const started = Date.now();
            const res = await postJson(relay.url, '/v1/messages', messagesBody(undefined, stream ? { stream: true } : {}),
                { timeoutMs: 8000 });
            const took = Date.now() - started;
            assert.equal(res.status, 200, ctx(res, relay));
            assert.equal(stalled.requests.length, 1, 'the stalled provider was tried');
            assert.equal(overloaded.requests.length, 1, 'the overloaded provider was tried');
            assert.equal(good.requests.length, 1);
            assert.ok(res.body.equals(good.requests[0].responseBody), 'the client gets the fourth answer');
            assert.equal(good.requests[0].headers['x-api-key'], 'sk-4');
            assert.equal(res.headers['x-cc-relay-provider'], 'good');
            assert.equal(res.headers['x-cc-relay-attempts'], '4');
            assert.ok(took >= 450 && took < 5000, `the stall cost about response_header_timeout_ms (${took} ms)`);
        });
    }
});
