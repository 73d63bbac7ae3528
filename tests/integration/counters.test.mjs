// Counters that add up: a known mix of requests through three providers (one refused, one that
// answers 529 for a while, one that always answers) and the relay's own errors must land in
// `cc-relay stats --json` exactly where the README's "What the counters mean" says: each attempt
// under the provider it went to by outcome, each request once under whoever answered it (the
// `relay` row for the relay's own answers), client aborts apart; every row's numbers reconcile
// with each other and the totals are the sum of the rows.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ctx } from '../lib/expect.mjs';
import { closedPort, messagesBody, postJson, request } from '../lib/http.mjs';
import { openStream, rewriteConfig, runCli, statsJson, waitFor } from '../lib/process.mjs';
import { startRelay } from '../lib/relay.mjs';
import { MOCK_USAGE, mockModel, startBackend } from '../mocks/backend.mjs';

const KEY = 'sk-relay-counters-test';

/** Every numeric leaf of a counters object, by path ("status.2xx"), without the latencies. */
function leaves(o, prefix = '', out = {}) {
    for (const [k, v] of Object.entries(o)) {
        if (k === 'latency_ms' || k === 'breaker') continue;
        if (typeof v === 'number') out[prefix + k] = v;
        else if (v && typeof v === 'object' && !Array.isArray(v)) leaves(v, `${prefix}${k}.`, out);
    }
    return out;
}

/** What every row must satisfy, whatever was sent. */
function reconcileRow(row) {
    const what = `row ${row.name ?? 'totals'}`;
    const s = row.status;
    assert.equal(row.requests, s['2xx'] + s['4xx'] + s['5xx'] + row.client_aborts, `${what}: requests = answers + aborts`);
    const a = row.attempts;
    assert.equal(a.total, a['2xx'] + a['4xx'] + a['5xx'] + a.connect + a.timeout + a.reset, `${what}: attempts.total`);
    assert.ok(row.failovers <= a.total, `${what}: failovers are attempts`);
    assert.equal(row.in_flight, 0, `${what}: nothing in flight`);
    assert.equal(row.latency_ms.total.count, row.requests, `${what}: one total time per request`);
    assert.ok(row.latency_ms.ttfb.count <= row.requests, `${what}: at most one first byte per request`);
}

describe('counters that add up', { timeout: 90_000 }, () => {
    let flaky;
    let steady;
    let relay;
    let config;

    before(async () => {
        flaky = await startBackend();
        steady = await startBackend();
        config = {
            server: { workers: 2, auth: { api_key: KEY } },
            health: { circuit_breaker: { failure_threshold: 1000 }, health_check: { enabled: false } },
            providers: [
                { name: 'refused', type: 'anthropic', enabled: true, base_url: `http://127.0.0.1:${await closedPort()}`, keys: [{ key: 'k1' }] },
                { name: 'flaky', type: 'anthropic', enabled: true, base_url: flaky.url, keys: [{ key: 'k2' }] },
                { name: 'steady', type: 'anthropic', enabled: true, base_url: steady.url, keys: [{ key: 'k3' }] },
            ],
        };
        relay = await startRelay(config);
    });
    after(async () => {
        await relay?.stop();
        await flaky?.close();
        await steady?.close();
    });

    it('a known mix lands where each answer came from, and every number reconciles', async () => {
        const headers = { 'x-api-key': KEY };
        const body = messagesBody();
        const bodyBytes = Buffer.byteLength(JSON.stringify(body));
        // 3 answers from flaky, each after a refused attempt.
        let flakyOut = 0;
        for (let i = 0; i < 3; i++) {
            const res = await postJson(relay.url, '/v1/messages', body, { headers, agent: false });
            assert.equal(res.status, 200, ctx(res, relay));
            flakyOut += res.body.length;
        }
        // 2 failovers: refused, flaky 529, steady 200.
        flaky.setMode({ kind: 'error', status: 529 });
        let steadyOut = 0;
        for (let i = 0; i < 2; i++) {
            const res = await postJson(relay.url, '/v1/messages', body, { headers, agent: false });
            assert.equal(res.status, 200, ctx(res, relay));
            steadyOut += res.body.length;
        }
        flaky.reset();
        // The relay's own answers: 401 (no key), 400 (not JSON), 404 (no such route).
        assert.equal((await postJson(relay.url, '/v1/messages', body, { agent: false })).status, 401);
        const bad = '{nope';
        assert.equal((await request(`${relay.url}/v1/messages`, {
            method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: bad, agent: false,
        })).status, 400);
        assert.equal((await request(`${relay.url}/v1/nothing-here`, { headers, agent: false })).status, 404);
        // A client that leaves mid-stream (flaky streams: refused first, then flaky).
        const stream = openStream(relay.url, mockModel('sse', { events: 30, delay: 200 }), { headers });
        await stream.firstByte;
        stream.abort();
        await waitFor(async () => (await statsJson(relay)).totals.requests === 9, { timeoutMs: 8000, what: 'all 9 requests counted' });

        const s = await statsJson(relay);
        const rows = Object.fromEntries(s.providers.map((p) => [p.name, p]));
        assert.deepEqual(Object.keys(rows).sort(), ['flaky', 'refused', 'relay', 'steady']);
        const { refused, flaky: f, steady: st, relay: own } = rows;

        // Requests: once each, where the answer came from.
        assert.deepEqual([refused.requests, f.requests, st.requests, own.requests], [0, 4, 2, 3]);
        assert.deepEqual(f.status, { '2xx': 3, '4xx': 0, '5xx': 0 });
        assert.equal(f.client_aborts, 1);
        assert.deepEqual(st.status, { '2xx': 2, '4xx': 0, '5xx': 0 });
        assert.equal(st.client_aborts, 0);
        assert.equal(own.relay, true);
        assert.deepEqual(own.status, { '2xx': 0, '4xx': 3, '5xx': 0 });
        assert.equal(own.client_aborts, 0);
        assert.equal(refused.client_aborts, 0);

        // Attempts: where they went, by outcome. Every relayed request tried refused first.
        assert.deepEqual(refused.attempts, { '2xx': 0, '4xx': 0, '5xx': 0, connect: 6, timeout: 0, reset: 0, total: 6 });
        assert.equal(refused.failovers, 6);
        assert.deepEqual(f.attempts, { '2xx': 4, '4xx': 0, '5xx': 2, connect: 0, timeout: 0, reset: 0, total: 6 });
        assert.equal(f.failovers, 2);
        assert.deepEqual(st.attempts, { '2xx': 2, '4xx': 0, '5xx': 0, connect: 0, timeout: 0, reset: 0, total: 2 });
        assert.equal(st.failovers, 0);
        assert.equal(own.attempts.total, 0, 'the relay row makes no attempts');
        assert.equal(own.failovers, 0);

        // What was carried: exact where the answers were whole.
        assert.deepEqual(st.tokens, {
            input: 2 * MOCK_USAGE.input_tokens, output: 2 * MOCK_USAGE.output_tokens,
            cache_read: 2 * MOCK_USAGE.cache_read_input_tokens, cache_creation: 2 * MOCK_USAGE.cache_creation_input_tokens,
        });
        assert.equal(st.bytes_in, 2 * bodyBytes);
        assert.equal(st.bytes_out, steadyOut);
        assert.ok(f.tokens.input >= 3 * MOCK_USAGE.input_tokens && f.tokens.input <= 4 * MOCK_USAGE.input_tokens, JSON.stringify(f.tokens));
        assert.ok(f.tokens.output >= 3 * MOCK_USAGE.output_tokens, JSON.stringify(f.tokens));
        assert.ok(f.bytes_in > 3 * bodyBytes, 'the stream request too');
        assert.ok(f.bytes_out > flakyOut, 'the aborted stream sent something');
        for (const k of ['input', 'output', 'cache_read', 'cache_creation']) {
            assert.equal(refused.tokens[k], 0);
            assert.equal(own.tokens[k], 0);
        }
        assert.equal(refused.bytes_in + refused.bytes_out, 0);
        assert.ok(own.bytes_out > 0, 'the relay\'s error bodies');

        // Latencies: a first byte for every answered request, none for the refused provider.
        assert.equal(st.latency_ms.ttfb.count, 2);
        assert.equal(f.latency_ms.ttfb.count, 4);
        assert.equal(refused.latency_ms.total.count, 0);
        assert.ok(st.latency_ms.total.p99 > 0);

        // Every row reconciles, and the totals are the sum of the rows, field by field.
        for (const row of s.providers) reconcileRow(row);
        reconcileRow(s.totals);
        const sum = {};
        for (const row of s.providers) {
            for (const [k, v] of Object.entries(leaves(row))) sum[k] = (sum[k] ?? 0) + v;
        }
        for (const [k, v] of Object.entries(leaves(s.totals))) assert.equal(v, sum[k], `totals.${k}`);
        for (const h of ['ttfb', 'total', 'overhead']) {
            assert.equal(s.totals.latency_ms[h].count, s.providers.reduce((n, p) => n + p.latency_ms[h].count, 0), h);
        }
        assert.equal(s.totals.requests, 9);
        assert.equal(s.totals.attempts.total, 14);
        assert.equal(s.workers.reduce((n, w) => n + w.requests, 0), 9, 'the workers\' requests add up too');

        // Each field says what it means (one text per top-level key or group).
        for (const k of ['requests', 'status', 'client_aborts', 'attempts', 'failovers', 'bytes_in', 'bytes_out', 'tokens',
            'cost_micro_usd', 'in_flight', 'latency_ms', 'relay', 'gone']) {
            assert.equal(typeof s.meanings[k], 'string', k);
            assert.ok(s.meanings[k].length > 10, k);
        }
        assert.equal(typeof s.meanings.clients.requests, 'string');
    });

    it('a provider a reload removed is shown as gone, and the table fits the terminal', async () => {
        const before = await statsJson(relay);
        await rewriteConfig(relay, { ...config, providers: config.providers.filter((p) => p.name !== 'steady') });
        const r = await runCli(['reload', '--config', relay.configFile]);
        assert.equal(r.code, 0, r.stderr);
        const s = await statsJson(relay);
        assert.ok(s.generation > before.generation);
        const steadyRow = s.providers.find((p) => p.name === 'steady');
        assert.equal(steadyRow.gone, true);
        assert.equal(steadyRow.requests, 2, 'its counts are kept');
        assert.equal(s.providers.find((p) => p.name === 'flaky').gone, false);

        for (const [columns, wide] of [['80', false], ['160', true]]) {
            const t = await runCli(['stats', '--workers', '--config', relay.configFile], { env: { COLUMNS: columns } });
            assert.equal(t.code, 0, t.stderr);
            assert.match(t.stdout, /steady \(gone\)/);
            const widest = Math.max(...t.stdout.split('\n').map((l) => l.length));
            assert.ok(widest <= Number(columns), `COLUMNS=${columns}: a line of ${widest}\n${t.stdout}`);
            assert.equal(t.stdout.includes('BYTES-IN'), wide, t.stdout);
        }
        await rewriteConfig(relay, config);
        assert.equal((await runCli(['reload', '--config', relay.configFile])).code, 0);
        assert.equal((await statsJson(relay)).providers.find((p) => p.name === 'steady').gone, false);
    });
});
