// Client keys for a shared host (`clients:`, issue 8): each user has a key of their own, limits
// that hold for the whole service (rpm_limit over 4 workers, daily_token_budget until UTC
// midnight), the providers they may use, and a row in `cc-relay stats`. Their keys are never
// forwarded upstream and never logged.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { assertRelayError, ctx } from '../lib/expect.mjs';
import { messagesBody, postJson } from '../lib/http.mjs';
import { currentWorkers, masterConfig, rewriteConfig, runCli, statsJson, waitFor } from '../lib/process.mjs';
import { mockProvider, startRelay } from '../lib/relay.mjs';
import { MOCK_USAGE, startBackend } from '../mocks/backend.mjs';

const KEYS = {
    alice: 'sk-client-alice-5b1e0c7d9a',
    bob: 'sk-client-bob-83f2aa61c4',
    carol: 'sk-client-carol-0d9e4b7f12',
    dave: 'sk-client-dave-6a3c1e8b55',
    erin: 'sk-client-erin-9f7d2c4a10',
};
const USED_PER_ANSWER = MOCK_USAGE.input_tokens + MOCK_USAGE.output_tokens;  // 378

function post(relay, headers, body = messagesBody()) {
    // A fresh connection each time (agent: false), so the kernel spreads them over the workers.
    return postJson(relay.url, '/v1/messages', body, { headers, agent: false });
}
const asKey = (name) => ({ 'x-api-key': KEYS[name] });
const asBearer = (name) => ({ authorization: `Bearer ${KEYS[name]}` });

function clientRow(stats, name) {
    const row = stats.clients.find((c) => c.name === name);
    assert.ok(row, `no row for client ${name} in ${JSON.stringify(stats.clients)}`);
    return row;
}

describe('clients: keys, limits, allowed providers and stats over 4 workers', { timeout: 90_000 }, () => {
    let main;
    let other;
    let relay;
    before(async () => {
        main = await startBackend();
        other = await startBackend();
        relay = await startRelay(masterConfig(main, {
            server: { workers: 4 },
            logging: { level: 'debug' },  // the strictest test of "never logged"
            providers: [
                mockProvider(main, { name: 'main' }),
                mockProvider(other, { name: 'other' }),
                mockProvider(main, { name: 'spare', enabled: false }),
            ],
            clients: [
                { name: 'alice', key: KEYS.alice, rpm_limit: 30 },
                { name: 'bob', key: KEYS.bob },
                { name: 'carol', key: KEYS.carol, daily_token_budget: 500 },
                { name: 'dave', key: KEYS.dave, allowed_providers: ['other'] },
                { name: 'erin', key: KEYS.erin, allowed_providers: ['spare'] },
            ],
        }));
    });
    beforeEach(() => {
        main.reset();
        other.reset();
    });
    after(async () => {
        await relay?.stop();
        await main?.close();
        await other?.close();
    });

    it('warns of nothing: clients are in effect', () => {
        assert.doesNotMatch(relay.logs(), /clients is not in effect/);
    });

    it('holds rpm_limit 30 for the whole service: 60 requests over 4 workers, 30 answered, the rest 429 with retry-after', async () => {
        const results = await Promise.all(Array.from({ length: 60 }, (_, i) =>
            post(relay, i % 2 ? asKey('alice') : asBearer('alice'))));
        const answered = results.filter((r) => r.status === 200);
        const refused = results.filter((r) => r.status !== 200);
        assert.ok(Math.abs(answered.length - 30) <= 2,
            `30 ± 2 answered, got ${answered.length}: ${results.map((r) => r.status).join(' ')}`);
        for (const r of refused) {
            const body = assertRelayError(r, 429, 'rate_limit_error', relay);
            assert.match(body.error.message, /client "alice" is over its rpm_limit \(30 requests per minute\)/);
            assert.match(String(r.headers['retry-after']), /^[1-9]\d*$/, ctx(r));
            assert.ok(Number(r.headers['retry-after']) <= 60, ctx(r));
        }
        assert.equal(main.requests.length, answered.length, 'refused requests never reach the upstream');
        // Service-wide, not per worker: the answered ones came from more than one worker.
        const s = await statsJson(relay);
        const serving = currentWorkers(s).filter((w) => w.requests > 0);
        assert.ok(serving.length >= 2, `requests spread over the workers: ${JSON.stringify(s.workers)}`);
        await waitFor(async () => {
            const alice = clientRow(await statsJson(relay), 'alice');
            return alice.requests === 60 && alice.rate_limited === refused.length &&
                alice.tokens.input === answered.length * MOCK_USAGE.input_tokens &&
                alice.tokens.output === answered.length * MOCK_USAGE.output_tokens;
        }, { timeoutMs: 5000, what: 'alice counted in cc-relay stats --json' });
    });

    it('leaves another client unaffected', async () => {
        const results = await Promise.all(Array.from({ length: 10 }, () => post(relay, asBearer('bob'))));
        assert.deepEqual(results.map((r) => r.status), Array(10).fill(200));
        const alice = await post(relay, asKey('alice'));
        assertRelayError(alice, 429, 'rate_limit_error', relay);
    });

    it('refuses a client whose daily_token_budget is used up, until the next UTC midnight', async () => {
        for (let i = 0; i < 2; i++) {
            const r = await post(relay, asKey('carol'));
            assert.equal(r.status, 200, ctx(r, relay));
        }
        // 2 × 378 tokens of usage against 500: settled when each answer ended.
        await waitFor(async () => clientRow(await statsJson(relay), 'carol').budget_used_today >= 2 * USED_PER_ANSWER,
            { what: 'carol\'s usage settled' });
        const before = Date.now();
        const r = await post(relay, asKey('carol'));
        const body = assertRelayError(r, 429, 'rate_limit_error', relay);
        assert.match(body.error.message, /client "carol" has used its daily_token_budget \(500 tokens per UTC day\); it renews at 00:00 UTC/);
        const midnight = Math.ceil((before + 1) / 86_400_000) * 86_400_000;
        const expected = Math.ceil((midnight - before) / 1000);
        const got = Number(r.headers['retry-after']);
        assert.ok(Math.abs(got - expected) <= 5, `retry-after ${got} s, until UTC midnight is ${expected} s`);
        assert.equal(main.requests.length, 2, 'the refused request never reached the upstream');
        const carol = clientRow(await statsJson(relay), 'carol');
        assert.equal(carol.tokens.input, 2 * MOCK_USAGE.input_tokens);
        assert.equal(carol.tokens.output, 2 * MOCK_USAGE.output_tokens);
        assert.equal(carol.rate_limited, 1);
    });

    it('routes a client only to its allowed_providers', async () => {
        for (let i = 0; i < 4; i++) {
            const r = await post(relay, asKey('dave'));
            assert.equal(r.status, 200, ctx(r, relay));
        }
        assert.equal(other.requests.length, 4, 'dave may use "other" only');
        assert.equal(main.requests.length, 0, 'the first provider in failover order is not dave\'s');
        const bob = await post(relay, asKey('bob'));
        assert.equal(bob.status, 200);
        assert.equal(main.requests.length, 1, 'others still get the first provider');
    });

    it('answers 403 permission_error to a client none of whose allowed providers serves the request', async () => {
        const r = await post(relay, asKey('erin'));
        const body = assertRelayError(r, 403, 'permission_error', relay);
        assert.match(body.error.message, /client "erin" may not use any provider that serves model "claude-sonnet-4-5" \(its allowed_providers: spare\)/);
        assert.equal(main.requests.length + other.requests.length, 0);
    });

    it('refuses an unknown key and a missing one with 401', async () => {
        assertRelayError(await post(relay, { 'x-api-key': 'sk-client-mallory' }), 401, 'authentication_error', relay);
        assertRelayError(await post(relay, {}), 401, 'authentication_error', relay);
        assert.equal(main.requests.length + other.requests.length, 0);
    });

    it('shows per-client rows in cc-relay stats, as a table and as JSON', async () => {
        const s = await statsJson(relay);
        assert.deepEqual(s.clients.map((c) => c.name), ['alice', 'bob', 'carol', 'dave', 'erin']);
        const bob = clientRow(s, 'bob');
        assert.equal(bob.requests, 11);
        assert.equal(bob.rate_limited, 0);
        assert.equal(bob.tokens.input, 11 * MOCK_USAGE.input_tokens);
        assert.equal(clientRow(s, 'dave').requests, 4);
        assert.equal(clientRow(s, 'erin').requests, 1);
        const table = await runCli(['stats', '--config', relay.configFile]);
        assert.equal(table.code, 0, table.stderr);
        assert.match(table.stdout, /CLIENT\s+REQUESTS\s+TOK-IN\s+TOK-OUT\s+429/);
        assert.match(table.stdout, /\nalice\s+61\s/);
        assert.match(table.stdout, /\nbob\s+11\s/);
    });

    it('never sends a client key upstream nor writes one to the log', async () => {
        for (const name of Object.keys(KEYS)) await post(relay, asKey(name));
        await post(relay, asBearer('bob'));
        const seen = [...main.requests, ...other.requests];
        assert.ok(seen.length > 0);
        for (const rec of seen) {
            const upstream = JSON.stringify(rec.headers) + rec.body.toString('utf8');
            for (const [name, key] of Object.entries(KEYS)) {
                assert.ok(!upstream.includes(key), `${name}'s key reached the upstream: ${JSON.stringify(rec.headers)}`);
            }
        }
        const log = relay.logs();
        assert.match(log, /access rid=\S+ client=\S+ client_name=dave method=POST path=\/v1\/messages .*status=200/,
            'the access line names the client (never its key)');
        for (const [name, key] of Object.entries(KEYS)) {
            assert.ok(!log.includes(key), `${name}'s key is in the relay's log`);
        }
    });
});

describe('clients across a reload', { timeout: 60_000 }, () => {
    let backend;
    let relay;
    let config;
    before(async () => {
        backend = await startBackend();
        config = masterConfig(backend, {
            server: { workers: 2 },
            clients: [
                { name: 'alice', key: KEYS.alice },
                { name: 'bob', key: KEYS.bob, daily_token_budget: 500 },
            ],
        });
        relay = await startRelay(config);
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    it('adds and removes clients, keeps a removed one\'s row as gone, and keeps the day\'s budget by name', async () => {
        assert.equal((await post(relay, asKey('alice'))).status, 200);
        for (let i = 0; i < 2; i++) assert.equal((await post(relay, asKey('bob'))).status, 200);
        await waitFor(async () => clientRow(await statsJson(relay), 'bob').budget_used_today >= 2 * USED_PER_ANSWER,
            { what: 'bob\'s usage settled' });

        await rewriteConfig(relay, {
            ...config,
            clients: [
                { name: 'bob', key: KEYS.bob, daily_token_budget: 500 },
                { name: 'carol', key: KEYS.carol },
            ],
        });
        const r = await runCli(['reload', '--config', relay.configFile], { timeoutMs: 20_000 });
        assert.equal(r.code, 0, r.stdout + r.stderr);

        assertRelayError(await post(relay, asKey('alice')), 401, 'authentication_error', relay);
        assert.equal((await post(relay, asKey('carol'))).status, 200);
        assertRelayError(await post(relay, asKey('bob')), 429, 'rate_limit_error', relay);
        const s = await statsJson(relay);
        assert.deepEqual(s.clients.map((c) => [c.name, c.gone]), [['alice', true], ['bob', false], ['carol', false]]);
        assert.equal(clientRow(s, 'alice').requests, 1, 'a removed client\'s counters stay');
        const table = await runCli(['stats', '--config', relay.configFile]);
        assert.match(table.stdout, /\nalice \(gone\)\s+1\s/);
    });
});
