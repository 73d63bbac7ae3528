// Routing strategies end to end, with two workers: turns, loads and latencies are service-wide
// (the shared segment), so the order holds whichever worker a connection lands on.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { messagesBody, postJson } from '../lib/http.mjs';
import { ctx } from '../lib/expect.mjs';
import { startRelay } from '../lib/relay.mjs';
import { mockModel, startBackend } from '../mocks/backend.mjs';

describe('routing strategies', { timeout: 60_000 }, () => {
    const backends = {};
    before(async () => {
        for (const name of ['a', 'b', 'c']) backends[name] = await startBackend();
    });
    after(async () => {
        for (const b of Object.values(backends)) await b.close();
    });

    function provider(name, extra = {}) {
        return { name, type: 'anthropic', enabled: true, base_url: backends[name].url, ...extra };
    }

    async function relayWith(t, routing, providers) {
        for (const b of Object.values(backends)) b.reset();
        const relay = await startRelay({ server: { workers: 2 }, routing: { debug: true, ...routing }, providers });
        t.after(() => relay.stop());
        return relay;
    }

    // Each request on a fresh connection, so the kernel spreads them over both workers.
    async function whoAnswers(relay, n, body = messagesBody()) {
        const seq = [];
        for (let i = 0; i < n; ++i) {
            const res = await postJson(relay.url, '/v1/messages', body);
            assert.equal(res.status, 200, ctx(res, relay));
            seq.push(res.headers['x-cc-relay-provider']);
        }
        return seq.join('');
    }

    it('round_robin: each provider first in turn, service-wide', async (t) => {
        const relay = await relayWith(t, { strategy: 'round_robin' }, [provider('a'), provider('b'), provider('c')]);
        const seq = await whoAnswers(relay, 12);
        assert.match(seq, /^(abc){4}$|^(bca){4}$|^(cab){4}$/, seq);
    });

    it('weighted_round_robin: nginx\'s smooth order by keys[0].weight', async (t) => {
        const relay = await relayWith(t, { strategy: 'weighted_round_robin' }, [
            provider('a', { keys: [{ key: 'ka', weight: 3 }] }),
            provider('b', { keys: [{ key: 'kb', weight: 1 }] }),
        ]);
        assert.equal(await whoAnswers(relay, 8), 'aabaaaba');
    });

    it('failover: the highest keys[0].priority first, whatever the config order', async (t) => {
        const relay = await relayWith(t, { strategy: 'failover' }, [
            provider('a', { keys: [{ key: 'ka', priority: 0 }] }),
            provider('b', { keys: [{ key: 'kb', priority: 2 }] }),
        ]);
        assert.equal(await whoAnswers(relay, 4), 'bbbb');
    });

    it('least_loaded: a provider busy with a stream (on any worker) is passed over', async (t) => {
        const relay = await relayWith(t, { strategy: 'least_loaded' }, [provider('a'), provider('b')]);
        // A long stream holds a request in flight at a.
        const long = postJson(relay.url, '/v1/messages',
            messagesBody(mockModel('sse', { events: 6, delay: 250 }), { stream: true }), { timeoutMs: 15_000 });
        const deadline = Date.now() + 5000;
        while (backends.a.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.equal(backends.a.requests.length, 1, 'the stream went to a');
        assert.equal(await whoAnswers(relay, 4), 'bbbb');
        assert.equal((await long).status, 200);
        assert.equal(await whoAnswers(relay, 1), 'a', 'with nothing in flight, priority then config order');
    });

    it('cost_based: the cheapest provider for the model, by pricing and the request\'s tokens', async (t) => {
        const price = (input, output) => ({ input_per_mtok: input, output_per_mtok: output });
        const relay = await relayWith(t, { strategy: 'cost_based' }, [
            provider('a', { pricing: { claude: price(15, 75) } }),
            provider('b', { pricing: { 'claude-sonnet': price(3, 15), claude: price(20, 90) } }),
        ]);
        assert.equal(await whoAnswers(relay, 3, messagesBody('claude-sonnet-4-5')), 'bbb');
        assert.equal(await whoAnswers(relay, 2, messagesBody('claude-opus-4-6')), 'aa');
    });

    it('latency_based: the fastest recent time to first byte, measured service-wide', async (t) => {
        const relay = await relayWith(t, { strategy: 'latency_based' }, [provider('a'), provider('b')]);
        backends.a.setMode({ kind: 'json', firstByteDelay: 150 });
        // Both get measured first (an unmeasured provider goes first), then b wins most turns.
        const seq = await whoAnswers(relay, 20);
        const tail = seq.slice(4);
        assert.ok((tail.match(/b/g) ?? []).length >= 14, seq);
    });
});

describe('spend per provider', { timeout: 30_000 }, () => {
    it('counts each answer\'s cost from its usage and the provider\'s pricing, in stats --json', async (t) => {
        const { runCli } = await import('../lib/process.mjs');
        const { MOCK_USAGE } = await import('../mocks/backend.mjs');
        const backend = await startBackend();
        t.after(() => backend.close());
        const relay = await startRelay({
            providers: [{ name: 'priced', type: 'anthropic', enabled: true, base_url: backend.url,
                pricing: { 'claude-sonnet': { input_per_mtok: 3, output_per_mtok: 15, cache_read_per_mtok: 0.3, cache_write_per_mtok: 3.75 } } }],
        });
        t.after(() => relay.stop());
        for (let i = 0; i < 2; ++i) {
            const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
            assert.equal(res.status, 200, ctx(res, relay));
        }
        const one = Math.round(MOCK_USAGE.input_tokens * 3 + MOCK_USAGE.output_tokens * 15 +
            MOCK_USAGE.cache_read_input_tokens * 0.3 + MOCK_USAGE.cache_creation_input_tokens * 3.75);
        const r = await runCli(['stats', '--json', '--listen', `127.0.0.1:${relay.port}`]);
        assert.equal(r.code, 0, r.stderr);
        const stats = JSON.parse(r.stdout);
        const row = stats.providers.find((p) => p.name === 'priced');
        assert.equal(row.cost_micro_usd, 2 * one, r.stdout);
    });
});
