// Key pools and per-key limits, service-wide across 4 workers: an upstream 429 rests a key for its
// retry-after; anthropic-ratelimit-* with nothing remaining rests it until the reset; rpm_limit
// holds for the whole service; round_robin alternates keys; and when every key of every candidate
// is at its limit the relay answers its own 429 rate_limit_error with Retry-After.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { messagesBody, postJson } from '../lib/http.mjs';
import { assertRelayError, ctx } from '../lib/expect.mjs';
import { uniqueShmName } from '../lib/process.mjs';
import { startRelay, suiteBackends } from '../lib/relay.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const keysSeen = (backend) => backend.requests.filter((r) => r.path === '/v1/messages')
    .map((r) => r.headers['x-api-key']);
const post = (relay) => postJson(relay.url, '/v1/messages', messagesBody(), { agent: false });

async function parallel(relay, n) {
    return Promise.all(Array.from({ length: n }, () => post(relay)));
}

describe('key pools', { timeout: 60_000 }, () => {
    let a;
    let b;
    suiteBackends(2, (list) => { [a, b] = list; });

    async function relayFor(t, providers, server = {}) {
        a.reset();
        b.reset();
        const relay = await startRelay({
            server: { workers: 4, shm_name: uniqueShmName(), ...server },
            routing: { strategy: 'failover' },
            health: { health_check: { enabled: false } },
            providers,
        });
        t.after(() => relay.stop());
        return relay;
    }
    const pooled = (backend, keys, strategy = 'round_robin', name = 'a') => ({
        name, type: 'anthropic', enabled: true, base_url: backend.url, keys,
        pooling: { enabled: true, strategy },
    });

    it('round_robin alternates the keys', async (t) => {
        const relay = await relayFor(t, [pooled(a, [{ key: 'k1' }, { key: 'k2' }])]);
        for (let i = 0; i < 6; i++) assert.equal((await post(relay)).status, 200);
        const seen = keysSeen(a);
        assert.equal(seen.length, 6);
        for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], `alternates: ${seen}`);
        assert.deepEqual([...new Set(seen)].sort(), ['k1', 'k2']);
    });

    it('an upstream 429 with retry-after: 2 rests that key; the next requests use the other', async (t) => {
        const relay = await relayFor(t, [pooled(a, [{ key: 'k1' }, { key: 'k2' }])]);
        let limited = true;
        a.setMode((rec) => (rec.path === '/v1/messages' && rec.headers['x-api-key'] === 'k1' && limited
            ? { kind: 'error', status: 429, retryAfter: 2 } : undefined));
        // The first two requests meet both keys (round robin): one of them gets k1's 429.
        const firstTwo = [await post(relay), await post(relay)];
        assert.deepEqual(firstTwo.map((r) => r.status).sort(), [200, 429], ctx(firstTwo[0], relay));
        const before = keysSeen(a).length;
        for (const res of await parallel(relay, 8)) assert.equal(res.status, 200, ctx(res, relay));
        assert.deepEqual(keysSeen(a).slice(before), Array(8).fill('k2'), 'k1 rests for its retry-after');
        // After the retry-after, k1 is used again.
        limited = false;
        await sleep(2200);
        const after2 = keysSeen(a).length;
        for (let i = 0; i < 4; i++) assert.equal((await post(relay)).status, 200);
        assert.ok(keysSeen(a).slice(after2).includes('k1'), `k1 is back: ${keysSeen(a).slice(after2)}`);
    });

    it('anthropic-ratelimit-requests-remaining: 0 rests the key until the reset', async (t) => {
        const relay = await relayFor(t, [pooled(a, [{ key: 'k1' }, { key: 'k2' }])]);
        let resetAt = 0;
        a.setMode((rec) => {
            if (rec.path !== '/v1/messages' || rec.headers['x-api-key'] !== 'k1' || resetAt) return undefined;
            resetAt = Date.now() + 2500;
            return {
                kind: 'json',
                headers: {
                    'anthropic-ratelimit-requests-limit': '50',
                    'anthropic-ratelimit-requests-remaining': '0',
                    'anthropic-ratelimit-requests-reset': new Date(resetAt).toISOString(),
                },
            };
        });
        for (let i = 0; i < 2; i++) assert.equal((await post(relay)).status, 200);
        assert.ok(resetAt > 0, 'k1 reported no requests remaining');
        const before = keysSeen(a).length;
        for (const res of await parallel(relay, 8)) assert.equal(res.status, 200, ctx(res, relay));
        assert.ok(Date.now() < resetAt, 'still before the reset');
        assert.deepEqual(keysSeen(a).slice(before), Array(8).fill('k2'), 'k1 is not used until its reset');
        await sleep(Math.max(0, resetAt - Date.now()) + 300);
        const after = keysSeen(a).length;
        for (let i = 0; i < 4; i++) assert.equal((await post(relay)).status, 200);
        assert.ok(keysSeen(a).slice(after).includes('k1'), `k1 is used after the reset: ${keysSeen(a).slice(after)}`);
    });

    it('a per-key rpm_limit holds service-wide across 4 workers', async (t) => {
        const relay = await relayFor(t, [pooled(a, [{ key: 'k1', rpm_limit: 10 }], 'least_loaded')]);
        const results = [];
        for (let i = 0; i < 5; i++) results.push(...await parallel(relay, 4));
        const ok = results.filter((r) => r.status === 200).length;
        assert.ok(ok >= 10 && ok <= 11, `${ok} of 20 answered (rpm_limit 10; refill is 1 per 6 s)`);
        assert.equal(keysSeen(a).length, ok, 'the backend saw only the admitted requests');
        for (const res of results.filter((r) => r.status !== 200)) {
            assertRelayError(res, 429, 'rate_limit_error', relay);
            const retry = Number(res.headers['retry-after']);
            assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `retry-after ${res.headers['retry-after']}`);
        }
    });

    it('every key of every candidate at its limit: the relay answers 429 rate_limit_error with retry-after', async (t) => {
        const relay = await relayFor(t, [
            pooled(a, [{ key: 'ka1', rpm_limit: 1 }, { key: 'ka2', rpm_limit: 1 }], 'least_loaded', 'a'),
            pooled(b, [{ key: 'kb1', rpm_limit: 1 }], 'least_loaded', 'b'),
        ]);
        for (let i = 0; i < 3; i++) assert.equal((await post(relay)).status, 200);
        assert.deepEqual(keysSeen(a).sort(), ['ka1', 'ka2'], 'both keys of the first provider');
        assert.deepEqual(keysSeen(b), ['kb1'], 'then the next provider');
        const res = await post(relay);
        const body = assertRelayError(res, 429, 'rate_limit_error', relay);
        assert.match(body.error.message, /rate limit/);
        assert.ok(Number(res.headers['retry-after']) >= 1, `retry-after: ${res.headers['retry-after']}`);
        assert.equal(keysSeen(a).length + keysSeen(b).length, 3, 'nothing was sent upstream');
    });
});
