// The admin API (server.admin, issue 10): off unless configured; with a bearer token every
// endpoint needs it; the shapes of /admin/status, /admin/providers and /admin/clients; a reload
// through POST /admin/reload says what `cc-relay reload` says; a provider disabled through the API
// stays disabled across a SIGHUP reload; the admin process is respawned and stops with SIGTERM.
// (admin-metrics.test.mjs reconciles the counters in /metrics.)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { messagesBody, postJson, request } from '../lib/http.mjs';
import {
    childPids, freePort, masterConfig, pidAlive, rewriteConfig, runCli, waitFor, waitForExit,
} from '../lib/process.mjs';
import { startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

const TOKEN = 'admin-secret-4f1c';
const ALICE_KEY = 'sk-relay-alice-admin-test';

function procTitle(pid) {
    try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' '); } catch { return ''; }
}
const adminPids = (relay) => childPids(relay.proc.pid).filter((p) => procTitle(p).startsWith('cc-relay: admin'));

describe('admin API', { timeout: 90_000 }, () => {
    let first;
    let second;
    let relay;
    let config;
    let adminUrl;
    const admin = (path, { method = 'GET', token = TOKEN } = {}) =>
        request(`${adminUrl}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {}, agent: false });
    const json = async (path, opts) => {
        const res = await admin(path, opts);
        assert.equal(res.status, 200, `${path}: ${res.body}`);
        assert.match(res.headers['content-type'], /^application\/json/);
        return JSON.parse(res.body);
    };
    // Four requests as alice; which backend got how many.
    const served = async () => {
        first.reset();
        second.reset();
        for (let i = 0; i < 4; i++) {
            const res = await postJson(relay.url, '/v1/messages', messagesBody(), { headers: { 'x-api-key': ALICE_KEY }, agent: false });
            assert.equal(res.status, 200, res.body.toString());
        }
        return { first: first.requests.length, second: second.requests.length };
    };

    before(async () => {
        first = await startBackend();
        second = await startBackend();
        const port = await freePort();
        adminUrl = `http://127.0.0.1:${port}`;
        config = masterConfig(first, {
            server: { workers: 2, admin: { listen: `127.0.0.1:${port}`, bearer_token: TOKEN } },
            clients: [{ name: 'alice', key: ALICE_KEY }],
            providers: [
                { name: 'first', type: 'anthropic', enabled: true, base_url: first.url, keys: [{ key: 'k1' }] },
                { name: 'second', type: 'openrouter', enabled: true, base_url: second.url, keys: [{ key: 'k2' }] },
            ],
        });
        relay = await startRelay(config);
        await waitFor(async () => { try { return (await admin('/metrics')).status === 200; } catch { return false; } },
            { timeoutMs: 5000, what: 'the admin listener' });
    });
    after(async () => {
        await relay?.stop();
        await first?.close();
        await second?.close();
    });

    it('is off unless server.admin.listen is set', async (t) => {
        const plain = await startRelay(masterConfig(first, { server: { workers: 1 } }));
        t.after(() => plain.stop());
        assert.deepEqual(adminPids(plain), []);
        assert.doesNotMatch(plain.logs(), /admin listening/);
        assert.match(relay.logs(), /admin listening on 127\.0\.0\.1:\d+/);
    });

    it('every endpoint needs the bearer token', async () => {
        for (const [method, path] of [['GET', '/metrics'], ['GET', '/admin/status'], ['GET', '/admin/providers'],
            ['GET', '/admin/clients'], ['POST', '/admin/reload'], ['POST', '/admin/providers/first/disable']]) {
            for (const token of [null, 'wrong', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
                const res = await admin(path, { method, token });
                assert.equal(res.status, 401, `${method} ${path} with ${token}`);
                assert.equal(res.headers['www-authenticate'], 'Bearer');
                assert.deepEqual(JSON.parse(res.body), { error: 'missing or wrong bearer token' });
            }
        }
        const ok = await admin('/metrics');
        assert.match(ok.headers['content-type'], /^text\/plain; version=0\.0\.4/);
        for (const line of ok.body.toString().split('\n')) {
            if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
            assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? \S+$/, 'an exposition line');
        }
        assert.equal((await json('/admin/providers')).find((p) => p.name === 'first').disabled, false,
            'the refused disable did nothing');
    });

    it('answers 404 for unknown paths and 405 with Allow for wrong methods', async () => {
        const missing = await admin('/admin/nothing');
        assert.equal(missing.status, 404);
        assert.match(JSON.parse(missing.body).error, /no such admin endpoint/);
        assert.equal((await admin('/admin/providers/first/restart', { method: 'POST' })).status, 404);
        const wrong = await admin('/admin/reload');
        assert.equal(wrong.status, 405);
        assert.equal(wrong.headers.allow, 'POST');
        const head = await admin('/admin/status', { method: 'HEAD' });
        assert.equal(head.status, 200);
        assert.equal(head.body.length, 0);
        assert.ok(Number(head.headers['content-length']) > 0, 'HEAD gives the GET\'s length');
    });

    it('status, providers and clients have their documented shapes, and no client key', async () => {
        await served();
        const status = await json('/admin/status');
        assert.equal(typeof status.version, 'string');
        assert.equal(status.generation, 1);
        assert.equal(status.master_pid, relay.proc.pid);
        assert.ok(status.uptime_s >= 0 && status.started_unix_ms > 0);
        assert.equal(status.workers_configured, 2);
        assert.equal(status.workers_ready, 2);
        assert.equal(status.workers.length, 2);
        for (const w of status.workers) {
            assert.equal(typeof w.pid, 'number');
            assert.equal(w.ready, true);
            assert.equal(typeof w.served, 'boolean');
        }
        assert.ok(status.workers.some((w) => w.served));
        assert.equal(status.last_reload, null);

        const providers = await json('/admin/providers');
        const byName = Object.fromEntries(providers.map((p) => [p.name, p]));
        assert.equal(byName.first.type, 'anthropic');
        assert.equal(byName.second.type, 'openrouter');
        assert.equal(byName.first.breaker.state, 'closed');
        assert.equal(byName.first.disabled, false);
        assert.equal(byName.first.requests, 4);
        assert.equal(byName.first.attempts.total, 4);

        const res = await admin('/admin/clients');
        assert.ok(!res.body.toString().includes(ALICE_KEY), 'no client key in /admin/clients');
        const alice = JSON.parse(res.body).find((c) => c.name === 'alice');
        assert.equal(alice.requests, 4);
        assert.equal(typeof alice.tokens.input, 'number');
    });

    it('POST /admin/reload reloads, and a bad config fails with cc-relay reload\'s words', async () => {
        const ok = await json('/admin/reload', { method: 'POST' });
        assert.equal(ok.ok, true);
        assert.equal(ok.generation, 2);
        const status = await json('/admin/status');
        assert.equal(status.generation, 2);
        assert.equal(status.last_reload.ok, true);
        assert.equal(status.last_reload.generation, 2);
        assert.ok(Math.abs(status.last_reload.unix_ms - Date.now()) < 60_000);

        await rewriteConfig(relay, { ...config, routing: { strategy: 'no-such-strategy' } });
        try {
            const cli = await runCli(['reload', '--config', relay.configFile]);
            assert.equal(cli.code, 1);
            const bad = await admin('/admin/reload', { method: 'POST' });
            assert.equal(bad.status, 500);
            const body = JSON.parse(bad.body);
            assert.equal(body.ok, false);
            assert.equal(body.error, cli.stderr.trimEnd(), 'the same words as cc-relay reload');
            assert.match(body.error, /^reload failed: [\s\S]*routing\.strategy/);
            const after = await json('/admin/status');
            assert.equal(after.generation, 2, 'the failed reload changed nothing');
            assert.equal(after.last_reload.ok, false);
        } finally {
            await rewriteConfig(relay, config);
        }
    });

    it('a disabled provider gets no traffic, stays disabled across SIGHUP, and comes back when enabled', async () => {
        assert.deepEqual(await served(), { first: 4, second: 0 });
        assert.deepEqual(await json('/admin/providers/first/disable', { method: 'POST' }), { provider: 'first', disabled: true });
        assert.deepEqual(await served(), { first: 0, second: 4 });

        const before = (await json('/admin/status')).generation;
        process.kill(relay.proc.pid, 'SIGHUP');
        await waitFor(async () => (await json('/admin/status')).generation > before, { timeoutMs: 10_000, what: 'the SIGHUP reload' });
        assert.equal((await json('/admin/providers')).find((p) => p.name === 'first').disabled, true);
        assert.deepEqual(await served(), { first: 0, second: 4 }, 'still disabled after the reload');

        assert.equal((await admin('/admin/providers/second/disable', { method: 'POST' })).status, 200);
        const none = await postJson(relay.url, '/v1/messages', messagesBody(), { headers: { 'x-api-key': ALICE_KEY }, agent: false });
        assert.equal(none.status, 503, 'every provider disabled: the relay\'s 503');
        assert.equal(JSON.parse(none.body).type, 'error');

        assert.deepEqual(await json('/admin/providers/first/enable', { method: 'POST' }), { provider: 'first', disabled: false });
        assert.equal((await admin('/admin/providers/second/enable', { method: 'POST' })).status, 200);
        assert.deepEqual(await served(), { first: 4, second: 0 });
        const unknown = await admin('/admin/providers/nobody/disable', { method: 'POST' });
        assert.equal(unknown.status, 404);
        assert.deepEqual(JSON.parse(unknown.body), { error: 'no provider named nobody' });
    });

    it('a reload that changes server.admin keeps the running listener and says a restart is needed', async () => {
        await rewriteConfig(relay, { ...config, server: { ...config.server, admin: { ...config.server.admin, bearer_token: 'new' } } });
        try {
            const res = await json('/admin/reload', { method: 'POST' });
            assert.equal(res.ok, true);
            await relay.waitForLog(/server\.admin changes take effect at the next restart/);
            assert.equal((await admin('/admin/status')).status, 200, 'the old token still works');
            assert.equal((await admin('/admin/status', { token: 'new' })).status, 401);
        } finally {
            await rewriteConfig(relay, config);
        }
    });

    it('a killed admin process is respawned and serves again', async () => {
        const [pid] = adminPids(relay);
        assert.ok(pid, 'an admin process runs');
        process.kill(pid, 'SIGKILL');
        await waitFor(() => { const [p] = adminPids(relay); return p && p !== pid; }, { timeoutMs: 5000, what: 'a new admin process' });
        await waitFor(async () => { try { return (await admin('/admin/status')).status === 200; } catch { return false; } },
            { timeoutMs: 5000, what: 'the respawned admin serving' });
        assert.match(relay.logs(), /admin process \(pid \d+\) exited; respawning/);
    });

    it('SIGTERM to the master stops the admin process before the master exits', async () => {
        const [pid] = adminPids(relay);
        assert.ok(pid);
        process.kill(relay.proc.pid, 'SIGTERM');
        const exit = await waitForExit(relay, 10_000);
        assert.equal(exit.code, 0, relay.logs().slice(-2000));
        assert.equal(pidAlive(pid), false, 'the admin process is gone');
        await assert.rejects(admin('/admin/status'), 'nothing listens on the admin port');
    });
});
