// Claude Code (`claude -p "say hi"`) through cc-relay to the mock backend.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { describeRun, runClaude } from '../lib/claude.mjs';
import { RELAY_BIN, startRelay } from '../lib/relay.mjs';
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

    // The path the README gives a user of a relay with server.auth: `config cc init --token KEY`
    // writes ANTHROPIC_AUTH_TOKEN, which Claude Code sends as a bearer token.
    it('claude -p after `cc-relay config cc init --token KEY` against an api_key relay', async (t) => {
        const relay = await startRelay({
            server: { auth: { api_key: 'sk-relay-cc-init' } },
            providers: [{ name: 'ds', type: 'deepseek', enabled: true, base_url: backend.url,
                keys: [{ key: 'sk-upstream-cc-init' }] }],
        });
        t.after(() => relay.stop());
        const home = await mkdtemp(path.join(tmpdir(), 'cc-relay-cc-init-'));
        t.after(() => rm(home, { recursive: true, force: true }));
        const settings = path.join(home, '.claude/settings.json');
        await promisify(execFile)(RELAY_BIN, ['config', 'cc', 'init', '--proxy-url', relay.url,
            '--token', 'sk-relay-cc-init', '--settings', settings], { env: { PATH: process.env.PATH, HOME: home } });
        assert.equal(JSON.parse(await readFile(settings, 'utf8')).env.ANTHROPIC_AUTH_TOKEN, 'sk-relay-cc-init');

        const run = await runClaude({ home, timeoutMs: 60_000 });  // base URL and token from settings.json
        const why = describeRun(run) + summary(backend, relay);
        assert.equal(run.timedOut, false, why);
        assert.equal(run.code, 0, why);
        assert.ok(run.stdout.includes(CANNED_TEXT), why);
        assert.doesNotMatch(relay.logs(), /status=401/, why);
        const msgs = backend.requests.filter((r) => r.path === '/v1/messages');
        assert.ok(msgs.length >= 1, why);
        for (const r of backend.requests) {
            assert.ok(!JSON.stringify(r.headers).includes('sk-relay-cc-init'), 'the relay key stays in the relay');
        }
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
