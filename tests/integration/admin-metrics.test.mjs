// Counters that add up, and the admin listener that exposes them: a known mix of requests
// (answers, a failover from a refused provider, the relay's own 401/400/404, a client that leaves
// mid-stream) must reconcile exactly in `stats --json` and in GET /metrics; the admin listener
// needs its bearer token, reloads like `cc-relay reload`, and its process is respawned and stopped
// with the master.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { ctx } from '../lib/expect.mjs';
import { closedPort, messagesBody, postJson, request } from '../lib/http.mjs';
import { childPids, freePort, openStream, rewriteConfig, statsJson, waitFor } from '../lib/process.mjs';
import { startRelay } from '../lib/relay.mjs';
import { mockModel, startBackend } from '../mocks/backend.mjs';

const TOKEN = 'admin-token-xyz';
const KEY = 'sk-relay-admin-test';

function parseMetrics(text) {
    const samples = [];
    for (const line of text.split('\n')) {
        if (line === '' || line.startsWith('#')) continue;
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
        assert.ok(m, `not an exposition line: ${line}`);
        const labels = {};
        for (const [, k, v] of (m[3] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
        samples.push({ name: m[1], labels, value: Number(m[4]) });
    }
    return samples;
}

function metric(samples, name, labels) {
    const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    assert.ok(s, `no ${name} ${JSON.stringify(labels)}`);
    return s.value;
}

function procTitle(pid) {
    try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' '); } catch { return ''; }
}

describe('counters and the admin listener', { timeout: 90_000 }, () => {
    let backend;
    let relay;
    let adminUrl;
    let adminPort;
    let config;
    const admin = (path, { method = 'GET', token = TOKEN } = {}) =>
        request(`${adminUrl}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });

    before(async () => {
        backend = await startBackend();
        adminPort = await freePort();
        adminUrl = `http://127.0.0.1:${adminPort}`;
        config = {
            server: { workers: 1, auth: { api_key: KEY }, admin: { listen: `127.0.0.1:${adminPort}`, bearer_token: TOKEN } },
            health: { circuit_breaker: { failure_threshold: 1000 }, health_check: { enabled: false } },
            providers: [
                { name: 'refused', type: 'anthropic', enabled: true, base_url: `http://127.0.0.1:${await closedPort()}`, keys: [{ key: 'k1' }] },
                { name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'k2' }] },
            ],
        };
        relay = await startRelay(config);
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    it('a known mix reconciles in stats --json and in /metrics', async () => {
        const headers = { 'x-api-key': KEY };
        // 3 answers, each after a refused attempt at the first provider.
        for (let i = 0; i < 3; i++) {
            const res = await postJson(relay.url, '/v1/messages', messagesBody(), { headers });
            assert.equal(res.status, 200, ctx(res, relay));
        }
        // The relay's own answers: 401 (no key), 400 (not JSON), 404 (no such route).
        assert.equal((await postJson(relay.url, '/v1/messages', messagesBody())).status, 401);
        assert.equal((await request(`${relay.url}/v1/messages`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{nope' })).status, 400);
        assert.equal((await request(`${relay.url}/v1/nothing-here`, { headers })).status, 404);
        // A client that leaves mid-stream.
        const stream = openStream(relay.url, mockModel('sse', { events: 20, delay: 200 }), { headers });
        await stream.firstByte;
        stream.abort();
        await waitFor(async () => {
            const s = await statsJson(relay);
            return s.providers.find((p) => p.name === 'mock')?.client_aborts === 1;
        }, { timeoutMs: 5000, what: 'the abort counted' });

        const s = await statsJson(relay);
        const byName = Object.fromEntries(s.providers.map((p) => [p.name, p]));
        const refused = byName.refused;
        const mock = byName.mock;
        const own = byName.relay;
        // Every request once, where its answer came from.
        assert.equal(refused.requests, 0);
        assert.equal(mock.requests, 4);
        assert.equal(mock.status['2xx'], 3);
        assert.equal(mock.client_aborts, 1);
        assert.equal(own.relay, true);
        assert.equal(own.requests, 3);
        assert.equal(own.status['4xx'], 3);
        assert.equal(s.totals.requests, 7);
        // Every attempt where it went, by outcome.
        assert.equal(refused.attempts.connect, 4);
        assert.equal(refused.attempts.total, 4);
        assert.equal(refused.failovers, 4);
        assert.equal(mock.attempts['2xx'], 4);
        assert.equal(mock.attempts.total, 4);
        assert.equal(mock.failovers, 0);
        assert.equal(s.totals.attempts.total, 8);
        assert.equal(mock.in_flight, 0);
        assert.ok(s.meanings.requests.length > 0 && s.meanings.attempts.length > 0);

        const res = await admin('/metrics');
        assert.equal(res.status, 200);
        assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
        const m = parseMetrics(res.body.toString());
        assert.equal(metric(m, 'cc_relay_requests_total', { provider: 'mock' }), 4);
        assert.equal(metric(m, 'cc_relay_requests_total', { provider: 'relay' }), 3);
        assert.equal(metric(m, 'cc_relay_responses_total', { provider: 'relay', class: '4xx' }), 3);
        assert.equal(metric(m, 'cc_relay_client_aborts_total', { provider: 'mock' }), 1);
        assert.equal(metric(m, 'cc_relay_upstream_attempts_total', { provider: 'refused', outcome: 'connect' }), 4);
        assert.equal(metric(m, 'cc_relay_failovers_total', { provider: 'refused' }), 4);
        assert.equal(metric(m, 'cc_relay_time_to_first_byte_seconds_count', { provider: 'mock' }), 4);
        assert.equal(metric(m, 'cc_relay_request_duration_seconds_bucket', { provider: 'mock', le: '+Inf' }), 4);
        assert.equal(metric(m, 'cc_relay_circuit_state', { provider: 'refused', state: 'closed' }), 1);
        assert.equal(metric(m, 'cc_relay_generation', {}), s.generation);
    });

    it('the admin listener needs its bearer token and knows its routes', async () => {
        assert.equal((await admin('/metrics', { token: null })).status, 401);
        assert.equal((await admin('/metrics', { token: 'wrong' })).status, 401);
        const status = await admin('/admin/status');
        assert.equal(status.status, 200);
        assert.equal(JSON.parse(status.body).generation >= 1, true);
        assert.equal((await admin('/admin/nothing')).status, 404);
        const post = await admin('/metrics', { method: 'POST' });
        assert.equal(post.status, 405);
        assert.equal(post.headers.allow, 'GET, HEAD');
    });

    it('POST /admin/reload reloads, and reports a bad config as cc-relay reload does', async () => {
        const ok = await admin('/admin/reload', { method: 'POST' });
        assert.equal(ok.status, 200, ok.body.toString());
        const generation = JSON.parse(ok.body).generation;
        assert.ok(generation >= 2);
        await rewriteConfig(relay, { ...config, routing: { strategy: 'no-such-strategy' } });
        const bad = await admin('/admin/reload', { method: 'POST' });
        assert.equal(bad.status, 500);
        const body = JSON.parse(bad.body);
        assert.equal(body.ok, false);
        assert.match(body.error, /^reload failed: [\s\S]*routing\.strategy/);
        await rewriteConfig(relay, config);
    });

    it('a provider disabled through the admin API gets no traffic, stays disabled across a reload, and comes back', async (t) => {
        const second = await startBackend();
        t.after(() => second.close());
        const port = await freePort();
        const url = `http://127.0.0.1:${port}`;
        const cfg = {
            server: { workers: 2, admin: { listen: `127.0.0.1:${port}` } },
            providers: [
                { name: 'first', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'k1' }] },
                { name: 'second', type: 'anthropic', enabled: true, base_url: second.url, keys: [{ key: 'k2' }] },
            ],
        };
        const r = await startRelay(cfg);
        t.after(() => r.stop());
        const post = (path) => request(`${url}${path}`, { method: 'POST' });
        const served = async () => {
            backend.reset();
            second.reset();
            for (let i = 0; i < 4; i++) assert.equal((await postJson(r.url, '/v1/messages', messagesBody(), { agent: false })).status, 200);
            return { first: backend.requests.length, second: second.requests.length };
        };
        assert.deepEqual(await served(), { first: 4, second: 0 });
        const off = await post('/admin/providers/first/disable');
        assert.equal(off.status, 200, off.body.toString());
        assert.deepEqual(JSON.parse(off.body), { provider: 'first', disabled: true });
        assert.deepEqual(await served(), { first: 0, second: 4 });
        const listed = JSON.parse((await request(`${url}/admin/providers`)).body);
        assert.equal(listed.find((p) => p.name === 'first').disabled, true);
        assert.equal((await post('/admin/reload')).status, 200);
        assert.deepEqual(await served(), { first: 0, second: 4 }, 'still disabled after a reload');
        assert.equal((await post('/admin/providers/second/disable')).status, 200);
        const none = await postJson(r.url, '/v1/messages', messagesBody(), { agent: false });
        assert.equal(none.status, 503, 'every provider disabled: the relay says so');
        assert.equal((await post('/admin/providers/first/enable')).status, 200);
        assert.equal((await post('/admin/providers/second/enable')).status, 200);
        assert.deepEqual(await served(), { first: 4, second: 0 });
        assert.equal((await post('/admin/providers/nobody/disable')).status, 404);
        assert.equal((await request(`${url}/admin/providers/first/disable`)).status, 405);
        assert.ok(Array.isArray(JSON.parse((await request(`${url}/admin/clients`)).body)));
    });

    it('the admin process is respawned when it dies, and stops with the master', async () => {
        const adminPid = () => childPids(relay.proc.pid).find((p) => procTitle(p).startsWith('cc-relay: admin'));
        const first = adminPid();
        assert.ok(first, 'an admin process runs');
        process.kill(first, 'SIGKILL');
        await waitFor(() => { const p = adminPid(); return p && p !== first; }, { timeoutMs: 5000, what: 'a new admin process' });
        await waitFor(async () => { try { return (await admin('/metrics')).status === 200; } catch { return false; } },
            { timeoutMs: 5000, what: 'the respawned admin serving' });
        const second = adminPid();
        await relay.stop();
        relay = undefined;
        assert.throws(() => process.kill(second, 0), 'the admin process is gone with the master');
    });
});

