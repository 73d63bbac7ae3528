// Circuit breakers and active health checks, service-wide across 4 workers: a provider that fails
// failure_threshold times in a row is skipped by every worker (the backend sees at most one
// request per worker beyond the threshold), half-opens after open_duration_ms (or earlier when a
// health check gets an answer), and half_open_probes successes close it. Each transition is
// logged once, by the process whose compare-and-swap made it, and shows in /v1/providers and
// `cc-relay stats --json`.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { closedPort, messagesBody, postJson, request, waitFor } from '../lib/http.mjs';
import { ctx } from '../lib/expect.mjs';
import { runCli, statsJson, uniqueShmName } from '../lib/process.mjs';
import { startRelay } from '../lib/relay.mjs';
import { makeCerts } from '../mocks/certs.mjs';
import { startBackend } from '../mocks/backend.mjs';

const messages = (backend) => backend.requests.filter((r) => r.path === '/v1/messages');
const count = (text, re) => (text.match(new RegExp(re, 'g')) ?? []).length;

async function circuit(relay, name) {
    const res = await request(`${relay.url}/v1/providers`);
    assert.equal(res.status, 200, ctx(res, relay));
    return res.json().data.find((p) => p.name === name).circuit;
}

async function statsCircuit(relay, name) {
    const s = await statsJson(relay);
    return s.providers.find((p) => p.name === name)?.breaker?.state;
}

// Requests in parallel waves, each on its own connection so they spread over the workers.
async function send(relay, total, { wave = 4, body = messagesBody() } = {}) {
    const out = [];
    for (let i = 0; i < total; i += wave) {
        const batch = [];
        for (let j = i; j < Math.min(total, i + wave); j++) {
            batch.push(postJson(relay.url, '/v1/messages', body, { agent: false, timeoutMs: 10_000 }));
        }
        out.push(...await Promise.all(batch));
    }
    return out;
}

describe('health: circuit breaker across 4 workers', { timeout: 60_000 }, () => {
    let bad;
    let good;
    before(async () => {
        bad = await startBackend();
        good = await startBackend();
    });
    after(async () => {
        await bad?.close();
        await good?.close();
    });

    async function relayFor(t, providers, health) {
        bad.reset();
        good.reset();
        const relay = await startRelay({
            server: { workers: 4, shm_name: uniqueShmName(), connect_timeout_ms: 2000 },
            routing: { strategy: 'failover', debug: true },
            health,
            providers,
        });
        t.after(() => relay.stop());
        return relay;
    }
    const both = () => [
        { name: 'bad', type: 'anthropic', enabled: true, base_url: bad.url, keys: [{ key: 'sk-bad' }] },
        { name: 'good', type: 'anthropic', enabled: true, base_url: good.url, keys: [{ key: 'sk-good' }] },
    ];

    it('opens after the third failure, sends traffic to the next provider, half-opens after the window and closes after the probes', async (t) => {
        const relay = await relayFor(t, both(), {
            health_check: { enabled: false },
            circuit_breaker: { failure_threshold: 3, open_duration_ms: 3000, half_open_probes: 2 },
        });
        bad.setMode((rec) => (rec.path === '/v1/messages' ? { kind: 'error', status: 529 } : undefined));
        const first = await send(relay, 24);
        for (const res of first) assert.equal(res.status, 200, ctx(res, relay));
        const seen = messages(bad).length;
        assert.ok(seen >= 3 && seen <= 3 + 4, `the failing backend saw ${seen} requests (3 + at most one per worker)`);
        assert.equal(messages(good).length, 24, 'every request was answered by the next provider');
        assert.equal(await circuit(relay, 'bad'), 'open');
        assert.equal(await statsCircuit(relay, 'bad'), 'open');
        assert.equal(await circuit(relay, 'good'), 'closed');
        const table = await runCli(['stats', '--config', relay.configFile]);
        assert.equal(table.code, 0, table.stderr);
        assert.match(table.stdout, /CIRCUIT/);
        assert.match(table.stdout, /^bad\b.*\bopen \d+s\s*$/m, table.stdout);
        assert.match(table.stdout, /^good\b.*\bclosed\s*$/m, table.stdout);

        // While open: nothing more reaches it.
        await send(relay, 8);
        assert.equal(messages(bad).length, seen, 'an open circuit gets no traffic');
        await relay.waitForLog(/provider bad: circuit opened/);
        assert.equal(count(relay.logs(), 'provider bad: circuit opened'), 1, 'logged once, not once per worker');

        // The provider recovers; after open_duration_ms the probes go through and close it.
        bad.setMode(undefined);
        await new Promise((r) => setTimeout(r, 3100));
        for (let i = 0; i < 4; i++) {
            const res = await postJson(relay.url, '/v1/messages', messagesBody(), { agent: false });
            assert.equal(res.status, 200, ctx(res, relay));
        }
        assert.ok(messages(bad).length >= seen + 2, 'half-open probes reached the provider');
        await waitFor(async () => (await circuit(relay, 'bad')) === 'closed', { timeoutMs: 3000, what: 'circuit closed' });
        assert.equal(await statsCircuit(relay, 'bad'), 'closed');
        await relay.waitForLog(/provider bad: circuit closed/);
        assert.equal(count(relay.logs(), 'provider bad: circuit half_opened'), 1, relay.logs().slice(-3000));
        assert.equal(count(relay.logs(), 'provider bad: circuit closed'), 1);
    });

    it('refused connections count as failures too', async (t) => {
        const port = await closedPort();
        const providers = both();
        providers[0].base_url = `http://127.0.0.1:${port}`;
        const relay = await relayFor(t, providers, {
            health_check: { enabled: false },
            circuit_breaker: { failure_threshold: 3, open_duration_ms: 30000 },
        });
        for (const res of await send(relay, 12)) assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(await circuit(relay, 'bad'), 'open');
        await relay.waitForLog(/provider bad: circuit opened/);
        assert.equal(count(relay.logs(), 'provider bad: circuit opened'), 1);
    });

    it('with a single provider whose circuit is open, the relay still tries it', async (t) => {
        const relay = await relayFor(t, both().slice(0, 1), {
            health_check: { enabled: false },
            circuit_breaker: { failure_threshold: 3, open_duration_ms: 30000 },
        });
        bad.setMode((rec) => (rec.path === '/v1/messages' ? { kind: 'error', status: 500 } : undefined));
        for (const res of await send(relay, 3, { wave: 1 })) assert.equal(res.status, 500);
        // The third failure is recorded as its attempt ends, which may be just after the client
        // has its answer: wait for the open circuit rather than race it.
        await waitFor(async () => (await circuit(relay, 'bad')) === 'open', { timeoutMs: 3000, what: 'the circuit open' });
        bad.setMode(undefined);
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), { agent: false });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(messages(bad).length, 4, 'the open provider was tried: it is the only one');
    });

    it('an active health check half-opens a refusing provider that came back, before open_duration_ms', async (t) => {
        const port = await closedPort();
        const providers = both();
        providers[0].base_url = `http://127.0.0.1:${port}`;
        const relay = await relayFor(t, providers, {
            health_check: { enabled: true, interval_ms: 300 },
            circuit_breaker: { failure_threshold: 2, open_duration_ms: 60000, half_open_probes: 1 },
        });
        for (const res of await send(relay, 8)) assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(await circuit(relay, 'bad'), 'open');
        // A few failed checks (refused) change nothing.
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal(await circuit(relay, 'bad'), 'open');

        const back = await startBackend({ port });
        t.after(() => back.close());
        const started = Date.now();
        await waitFor(async () => (await circuit(relay, 'bad')) !== 'open', { timeoutMs: 8000, what: 'half-open by a check' });
        assert.ok(Date.now() - started < 8000, 'well before open_duration_ms (60 s)');
        assert.equal(await circuit(relay, 'bad'), 'half_open');
        const checks = back.requests.filter((r) => r.method === 'GET' && r.path === '/v1/models');
        assert.equal(checks.length, 1, 'one worker checks, not four');
        assert.equal(checks[0].headers['x-api-key'], 'sk-bad', 'the check carries the provider credential');
        await relay.waitForLog(/provider bad: circuit half_opened \(health check answered 404\)/);
        assert.equal(count(relay.logs(), 'provider bad: circuit half_opened'), 1);

        // The probe goes to the recovered provider (first in failover order) and closes it.
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), { agent: false });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(messages(back).length, 1);
        // No wait: the worker that relayed the probe settled it before the answer's last write
        // (upstream/settle.h), so every worker reads the circuit closed once the answer is here.
        assert.equal(await circuit(relay, 'bad'), 'closed');
    });
    it('the health check speaks TLS like any request (https provider, its ca_file)', async (t) => {
        const certs = await makeCerts();
        t.after(() => certs.cleanup());
        const port = await closedPort();
        const providers = both();
        providers[0].base_url = `https://localhost:${port}`;
        providers[0].ca_file = certs.caFile;
        const relay = await relayFor(t, providers, {
            health_check: { enabled: true, interval_ms: 300 },
            circuit_breaker: { failure_threshold: 2, open_duration_ms: 60000, half_open_probes: 1 },
        });
        for (const res of await send(relay, 4)) assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(await circuit(relay, 'bad'), 'open');
        const back = await startBackend({ tls: { key: certs.key, cert: certs.cert }, port });
        t.after(() => back.close());
        await waitFor(async () => (await circuit(relay, 'bad')) !== 'open', { timeoutMs: 8000, what: 'half-open by a TLS check' });
        const checks = back.requests.filter((r) => r.method === 'GET' && r.path === '/v1/models');
        assert.equal(checks.length, 1);
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), { agent: false });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(messages(back).length, 1, 'the probe went to the recovered https provider');
    });
});
