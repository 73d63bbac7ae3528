// Thinking signatures across providers, against the real binary and two mock backends: a
// conversation with a provider's signed thinking blocks stays on that provider (session affinity
// by X-Claude-Code-Session-Id, across workers), reaches any other provider without them and
// byte-identical otherwise (thinking disabled when the last assistant turn began with one), and
// is retried once without them when a provider refuses their signatures.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { postJson } from '../lib/http.mjs';
import { ctx } from '../lib/expect.mjs';
import { uniqueShmName } from '../lib/process.mjs';
import { startRelay, suiteBackends } from '../lib/relay.mjs';

// A conversation whose second turn carries provider A's signed thinking block.
const WITH_BLOCKS =
    '{"model":"claude-sonnet-4-5","max_tokens":2048,' +
    '"thinking":{"type":"enabled","budget_tokens":1024},' +
    '"messages":[{"role":"user","content":"What is 2+2?"},' +
    '{"role":"assistant","content":[{"type":"thinking","thinking":"Simple sum.","signature":"EqQBCgSIGFROMA=="}, ' +
    '{"type":"text","text":"4"}]},' +
    '{"role":"user","content":"And 3+3?"}]}';
// The same bytes less the block (and the space after its comma), thinking disabled.
const WITHOUT_BLOCKS =
    '{"model":"claude-sonnet-4-5","max_tokens":2048,' +
    '"thinking":{"type":"disabled"},' +
    '"messages":[{"role":"user","content":"What is 2+2?"},' +
    '{"role":"assistant","content":[' +
    '{"type":"text","text":"4"}]},' +
    '{"role":"user","content":"And 3+3?"}]}';
// Thinking on, but no blocks yet: nothing to strip, ever.
const ORDINARY =
    '{"model":"claude-sonnet-4-5","max_tokens":2048,' +
    '"thinking":{"type":"enabled","budget_tokens":1024},' +
    '"messages":[{"role":"user","content":"What is  2+2?"}]}';

const SIGNATURE_ERROR = 'messages.1.content.0: Invalid `signature` in `thinking` block';

describe('thinking signatures across providers', { timeout: 60_000 }, () => {
    let a;
    let b;
    suiteBackends(2, (list) => { [a, b] = list; });

    async function relayFor(t, over = {}) {
        a.reset();
        b.reset();
        const relay = await startRelay({
            server: { connect_timeout_ms: 2000, ...(over.server ?? {}) },
            routing: { strategy: 'failover', debug: true, ...(over.routing ?? {}) },
            health: over.health ?? {},
            providers: [
                { name: 'a', type: 'anthropic', enabled: true, base_url: a.url, keys: [{ key: 'sk-a' }] },
                { name: 'b', type: 'anthropic', enabled: true, base_url: b.url, keys: [{ key: 'sk-b' }] },
            ].slice(0, over.providers ?? 2),
        });
        t.after(() => relay.stop());
        return relay;
    }

    it('keeps the blocks for the provider that made them', async (t) => {
        const relay = await relayFor(t);
        const res = await postJson(relay.url, '/v1/messages', WITH_BLOCKS);
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(a.requests.length, 1);
        assert.equal(a.requests[0].body.toString(), WITH_BLOCKS);
    });

    it('strips them for the next provider after a 529, every other byte unchanged', async (t) => {
        const relay = await relayFor(t);
        a.setMode({ kind: 'error', status: 529 });
        const res = await postJson(relay.url, '/v1/messages', WITH_BLOCKS);
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(res.headers['x-cc-relay-provider'], 'b');
        assert.equal(a.requests[0].body.toString(), WITH_BLOCKS, 'the origin got them as sent');
        assert.equal(b.requests.length, 1);
        assert.equal(b.requests[0].body.toString(), WITHOUT_BLOCKS);
        assert.equal(b.requests[0].headers['content-length'], String(Buffer.byteLength(WITHOUT_BLOCKS)));
    });

    it('strips them when the origin\'s circuit is open', async (t) => {
        const relay = await relayFor(t, { health: { circuit_breaker: { failure_threshold: 1, open_duration_ms: 60_000 } } });
        a.setMode({ kind: 'error', status: 529 });
        const opened = await postJson(relay.url, '/v1/messages', ORDINARY);
        assert.equal(opened.status, 200, ctx(opened, relay));
        a.setMode(undefined);
        const res = await postJson(relay.url, '/v1/messages', WITH_BLOCKS);
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(a.requests.length, 1, 'the open circuit is skipped');
        assert.equal(b.requests.length, 2);
        assert.equal(b.requests[0].body.toString(), ORDINARY, 'a request without blocks is untouched');
        assert.equal(b.requests[1].body.toString(), WITHOUT_BLOCKS);
    });

    it('leaves a request without thinking blocks byte-identical on failover', async (t) => {
        const relay = await relayFor(t);
        a.setMode({ kind: 'error', status: 529 });
        const res = await postJson(relay.url, '/v1/messages', ORDINARY);
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(a.requests[0].body.toString(), ORDINARY);
        assert.equal(b.requests[0].body.toString(), ORDINARY);
    });

    it('retries once without the blocks when the provider refuses their signatures', async (t) => {
        const relay = await relayFor(t, { providers: 1 });
        a.setMode((rec) => (rec.body.includes('"signature"')
            ? { kind: 'error', status: 400, errorType: 'invalid_request_error', message: SIGNATURE_ERROR }
            : undefined));
        const res = await postJson(relay.url, '/v1/messages', WITH_BLOCKS);
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(a.requests.length, 2);
        assert.equal(a.requests[0].body.toString(), WITH_BLOCKS);
        assert.equal(a.requests[1].body.toString(), WITHOUT_BLOCKS);
        assert.ok(res.body.equals(a.requests[1].responseBody), 'the client gets the retry\'s answer');
    });

    it('relays another 400 as it is, without a retry', async (t) => {
        const relay = await relayFor(t, { providers: 1 });
        a.setMode({ kind: 'error', status: 400 });
        const res = await postJson(relay.url, '/v1/messages', WITH_BLOCKS);
        assert.equal(res.status, 400, ctx(res, relay));
        assert.equal(a.requests.length, 1);
        assert.ok(res.body.equals(a.requests[0].responseBody));
    });

    it('keeps each session on the provider that answered it, across workers', async (t) => {
        const relay = await relayFor(t, {
            server: { workers: 2, shm_name: uniqueShmName() },
            routing: { strategy: 'round_robin' },
        });
        const session = (id) => ({ headers: { 'X-Claude-Code-Session-Id': id } });
        // First turns (no blocks yet): round robin gives each session its own provider.
        const first = await postJson(relay.url, '/v1/messages', ORDINARY, session('session-one'));
        const second = await postJson(relay.url, '/v1/messages', ORDINARY, session('session-two'));
        assert.equal(first.status, 200, ctx(first, relay));
        assert.equal(second.status, 200, ctx(second, relay));
        const one = first.headers['x-cc-relay-provider'];
        const two = second.headers['x-cc-relay-provider'];
        assert.notEqual(one, two, 'round robin alternates');
        a.reset();
        b.reset();
        // Later turns carry the blocks: each stays where it began, on fresh connections that the
        // kernel spreads over both workers.
        for (let turn = 0; turn < 6; ++turn) {
            for (const [id, provider] of [['session-one', one], ['session-two', two]]) {
                const res = await postJson(relay.url, '/v1/messages', WITH_BLOCKS, session(id));
                assert.equal(res.status, 200, ctx(res, relay));
                assert.equal(res.headers['x-cc-relay-provider'], provider, `${id}, turn ${turn}`);
            }
        }
        assert.equal(a.requests.length, 6);
        assert.equal(b.requests.length, 6);
        for (const r of [...a.requests, ...b.requests]) assert.equal(r.body.toString(), WITH_BLOCKS);
        // The affinity held across processes: both workers served turns.
        const workers = new Set([...relay.logs().matchAll(/\[(worker \d+)\] access rid=/g)].map((m) => m[1]));
        assert.equal(workers.size, 2, `served by ${[...workers].join(', ')}`);
    });
});
