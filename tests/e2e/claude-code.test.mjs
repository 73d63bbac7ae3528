// Claude Code (`claude -p "say hi"`) through cc-relay to the mock backend.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { describeRun, runClaude } from '../lib/claude.mjs';
import { startRelay } from '../lib/relay.mjs';
import { CANNED_TEXT, startBackend } from '../mocks/backend.mjs';

function summary(backend, relay) {
    return `\n--- upstream requests ---\n${backend.requests.map((r) => `${r.method} ${r.url} -> ${r.responseStatus}`).join('\n')}` +
        `\n--- relay log (tail) ---\n${relay.logs().slice(-3000)}`;
}

describe('Claude Code CLI through cc-relay', { timeout: 300_000 }, () => {
    let backend;
    before(async () => { backend = await startBackend(); });
    beforeEach(() => backend.reset());
    after(async () => { await backend?.close(); });

    it('claude -p with ANTHROPIC_API_KEY = the proxy key prints the mock answer', async (t) => {
        const relay = await startRelay({
            server: { auth: { api_key: 'sk-relay-proxy-key' } },
            providers: [{ name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url,
                keys: [{ key: 'sk-upstream-claude' }] }],
        });
        t.after(() => relay.stop());
        const run = await runClaude({ baseUrl: relay.url, env: { ANTHROPIC_API_KEY: 'sk-relay-proxy-key' } });
        const why = describeRun(run) + summary(backend, relay);
        assert.equal(run.timedOut, false, why);
        assert.equal(run.code, 0, why);
        assert.ok(run.stdout.includes(CANNED_TEXT), why);
        const msgs = backend.requests.filter((r) => r.path === '/v1/messages');
        assert.ok(msgs.length >= 1, why);
        for (const r of backend.requests) {
            assert.equal(r.headers['x-api-key'], 'sk-upstream-claude', 'the upstream sees the provider key');
            assert.ok(!JSON.stringify(r.headers).includes('sk-relay-proxy-key'), 'the proxy key stays in the proxy');
        }
    });

    it('claude -p with ANTHROPIC_AUTH_TOKEN (bearer) through a keyless anthropic provider', async (t) => {
        const relay = await startRelay({
            server: { auth: { allow_subscription: true } },
            providers: [{ name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url }],
        });
        t.after(() => relay.stop());
        const run = await runClaude({ baseUrl: relay.url, env: { ANTHROPIC_AUTH_TOKEN: 'sk-ant-oat01-e2e-token' } });
        const why = describeRun(run) + summary(backend, relay);
        assert.equal(run.code, 0, why);
        assert.ok(run.stdout.includes(CANNED_TEXT), why);
        const msgs = backend.requests.filter((r) => r.path === '/v1/messages');
        assert.ok(msgs.length >= 1, why);
        assert.equal(msgs[0].headers.authorization, 'Bearer sk-ant-oat01-e2e-token',
            'the client bearer token is passed through to a keyless anthropic provider');
        assert.equal(msgs[0].query, 'beta=true');
    });

    it('claude -p through a zai-type provider with model_mapping', async (t) => {
        const relay = await startRelay({
            server: { auth: { api_key: 'sk-relay-proxy-key' } },
            providers: [{ name: 'glm', type: 'zai', enabled: true, base_url: backend.url,
                keys: [{ key: 'sk-zai-upstream' }], model_mapping: { 'claude-e2e-main': 'glm-5' } }],
        });
        t.after(() => relay.stop());
        const run = await runClaude({
            baseUrl: relay.url,
            env: { ANTHROPIC_API_KEY: 'sk-relay-proxy-key', ANTHROPIC_MODEL: 'claude-e2e-main' },
        });
        const why = describeRun(run) + summary(backend, relay);
        assert.equal(run.code, 0, why);
        assert.ok(run.stdout.includes(CANNED_TEXT), why);
        const msgs = backend.requests.filter((r) => r.path === '/v1/messages');
        assert.ok(msgs.some((r) => r.json?.model === 'glm-5'), `the main model was mapped${why}`);
        assert.ok(!msgs.some((r) => r.json?.model === 'claude-e2e-main'), why);
        for (const r of backend.requests) {
            assert.equal(r.headers.authorization, 'Bearer sk-zai-upstream');
            assert.equal(r.headers['x-api-key'], undefined);
        }
        assert.equal(backend.requests.filter((r) => r.path.endsWith('/count_tokens')).length, 0,
            'count_tokens is answered by the relay for zai');
    });
});
