// Logs an operator can rotate: with logging.output a file, SIGUSR1 to the master (what the
// shipped logrotate snippet sends) makes the master and every worker reopen the path, so after a
// rename the new file gets the lines and the old one stops growing. Timestamps carry their offset.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

import { closedPort, messagesBody, postJson } from '../lib/http.mjs';
import { configText, freePort, uniqueShmName, waitFor } from '../lib/process.mjs';
import { RELAY_BIN, startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

const read = async (file) => (existsSync(file) ? readFile(file, 'utf8') : '');

describe('log files', { timeout: 60_000 }, () => {
    it('SIGUSR1 reopens the log in the master and every worker after a rename', async (t) => {
        const backend = await startBackend();
        t.after(() => backend.close());
        const dir = await mkdtemp(path.join(tmpdir(), 'cc-relay-logs-'));
        t.after(() => rm(dir, { recursive: true, force: true }));
        const log = path.join(dir, 'relay.log');
        const port = await freePort();
        const configFile = path.join(dir, 'config.yaml');
        await writeFile(configFile, configText({
            server: { listen: `127.0.0.1:${port}`, shm_name: uniqueShmName(), workers: 2 },
            logging: { output: log, level: 'info' },
            providers: [{ name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'k' }] }],
        }));
        const proc = spawn(RELAY_BIN, ['serve', '--config', configFile], { stdio: 'ignore', detached: true });
        t.after(() => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } });
        await waitFor(async () => (await read(log)).includes('listening on'), { timeoutMs: 15_000, what: 'the relay up' });
        // Local time with its UTC offset.
        assert.match(await read(log), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d I \[master\]/m);

        const url = `http://127.0.0.1:${port}`;
        const before = await postJson(url, '/v1/messages', messagesBody(), { agent: false });
        assert.equal(before.status, 200);
        await waitFor(async () => (await read(log)).includes(before.headers['x-request-id']), { what: 'the first access line' });

        await rename(log, `${log}.1`);
        process.kill(proc.pid, 'SIGUSR1');
        await waitFor(async () => (await read(log)).includes('log file reopened'), { timeoutMs: 5000, what: 'the master reopened' });
        const oldSize = (await read(`${log}.1`)).length;
        // Both workers have reopened once each answered a request into the new file; send 16 on
        // new connections so each worker (SO_REUSEPORT spreads them) writes some.
        const ids = [];
        for (let i = 0; i < 16; i++) {
            const res = await postJson(url, '/v1/messages', messagesBody(), { agent: false });
            assert.equal(res.status, 200);
            ids.push(res.headers['x-request-id']);
        }
        await waitFor(async () => (await read(log)).includes(ids.at(-1)), { what: 'the access lines in the new file' });
        const fresh = await read(log);
        for (const id of ids) assert.ok(fresh.includes(id), `access line ${id} in the new file`);
        const workersWriting = new Set([...fresh.matchAll(/\[worker (\d+)\] access/g)].map((m) => m[1]));
        assert.equal(workersWriting.size, 2, `both workers write the new file:\n${fresh}`);
        assert.equal((await read(`${log}.1`)).length, oldSize, 'the renamed file stops growing');

        process.kill(proc.pid, 'SIGTERM');
        await waitFor(async () => (await read(log)).includes('stopped'), { timeoutMs: 10_000, what: 'the master stopped' });
    });

    it('logging.format json: every line one JSON object, the access line with its fields as fields', async (t) => {
        const backend = await startBackend();
        t.after(() => backend.close());
        const relay = await startRelay({
            logging: { format: 'json', level: 'info' },
            server: { workers: 1 },
            routing: { strategy: 'failover' },
            providers: [
                { name: 'down', type: 'anthropic', enabled: true, base_url: `http://127.0.0.1:${await closedPort()}`, keys: [{ key: 'k0' }] },
                { name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'k' }],
                    pricing: { 'claude-x': { input_per_mtok: 3, output_per_mtok: 15, cache_read_per_mtok: 0.3, cache_write_per_mtok: 3.75 } } },
            ],
        });
        t.after(() => relay.stop());
        const sent = messagesBody('claude-x', { stream: true });
        const res = await postJson(relay.url, '/v1/messages?beta=true', sent, { agent: false });
        assert.equal(res.status, 200);
        const id = res.headers['x-request-id'];
        await waitFor(() => relay.logs().includes(`"msg":"access","request_id":"${id}"`), { what: 'the access line' });
        const lines = relay.logs().split('\n').filter((l) => l.trim() !== '');
        const parsed = lines.map((l) => { try { return JSON.parse(l); } catch { assert.fail(`not JSON: ${l}`); } });
        for (const p of parsed) {
            assert.match(p.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
            assert.equal(typeof p.msg, 'string');
            assert.equal(typeof p.pid, 'number');
        }
        const access = parsed.find((p) => p.msg === 'access' && p.request_id === id);
        assert.ok(access, lines.join('\n'));
        assert.equal(access.method, 'POST');
        assert.equal(access.path, '/v1/messages?beta=true');
        assert.equal(access.provider, 'mock');
        assert.equal(access.model, 'claude-x');
        assert.equal(access.stream, true);
        assert.equal(access.status, 200);
        assert.equal(access.client_aborted, false);
        assert.equal(access.client_name, null);
        assert.equal(access.input_tokens, 321);
        assert.equal(access.output_tokens, 57);
        assert.equal(access.cache_read_tokens, 1024);
        assert.equal(access.cache_creation_tokens, 64);
        assert.equal(typeof access.ttfb_ms, 'number');
        assert.ok(access.duration_ms >= access.ttfb_ms);
        assert.equal(access.level, 'info');
        assert.equal(access.proc, 'worker 0');
        assert.match(access.client, /^127\.0\.0\.1:\d+$/);
        assert.equal(access.attempts, 2);
        assert.equal(access.failovers, 1);
        assert.equal(access.bytes_in, Buffer.byteLength(JSON.stringify(sent)));
        assert.ok(access.bytes_out > 0);
        // The mock's usage at the provider's prices (USD per million tokens).
        assert.ok(Math.abs(access.cost_usd - (321 * 3 + 57 * 15 + 1024 * 0.3 + 64 * 3.75) / 1e6) < 2e-6, String(access.cost_usd));
        assert.equal(access.error, null);
        // The failed first attempt: one line, its fields as fields.
        const failed = parsed.filter((p) => p.msg === 'upstream attempt failed' && p.request_id === id);
        assert.equal(failed.length, 1, lines.join('\n'));
        assert.equal(failed[0].provider, 'down');
        assert.equal(failed[0].attempt, 1);
        assert.equal(failed[0].status, null);
        assert.match(failed[0].reason, /connection failed/);
        assert.equal(failed[0].level, 'info');
        // Lines of the master too, as JSON.
        assert.ok(parsed.some((p) => p.proc === 'master' && /listening on/.test(p.msg)), lines.join('\n'));
    });

    it('a failed upstream attempt is one info line with the provider, the status and why', async (t) => {
        const flaky = await startBackend();
        const good = await startBackend();
        t.after(() => flaky.close());
        t.after(() => good.close());
        const relay = await startRelay({
            logging: { level: 'info' },
            server: { workers: 1, connect_timeout_ms: 2000 },
            routing: { strategy: 'failover' },
            providers: [
                { name: 'refused', type: 'anthropic', enabled: true, base_url: `http://127.0.0.1:${await closedPort()}`, keys: [{ key: 'k0' }] },
                { name: 'flaky', type: 'anthropic', enabled: true, base_url: flaky.url, keys: [{ key: 'k1' }] },
                { name: 'good', type: 'anthropic', enabled: true, base_url: good.url, keys: [{ key: 'k2' }] },
            ],
        });
        t.after(() => relay.stop());
        flaky.setMode({ kind: 'error', status: 503 });
        const ok = await postJson(relay.url, '/v1/messages', messagesBody(), { agent: false });
        assert.equal(ok.status, 200, relay.logs().slice(-3000));
        const okId = ok.headers['x-request-id'];
        await relay.waitForLog(new RegExp(`access rid=${okId} `));
        const failedLines = (id) => relay.logs().split('\n').filter((l) => l.includes('upstream attempt failed') && l.includes(`rid=${id} `));
        const first = failedLines(okId);
        assert.equal(first.length, 2, relay.logs());
        assert.match(first[0], / I \[worker 0\] upstream attempt failed rid=\S+ provider=refused attempt=1 status=- reason="upstream connection failed: [^"]+"$/);
        assert.match(first[1], / I \[worker 0\] upstream attempt failed rid=\S+ provider=flaky attempt=2 status=503 reason="upstream answered 503"$/);

        // The last candidate's error is relayed as it came, and still logged as a failed attempt.
        good.setMode({ kind: 'error', status: 529 });
        const bad = await postJson(relay.url, '/v1/messages', messagesBody(), { agent: false });
        assert.equal(bad.status, 529);
        const badId = bad.headers['x-request-id'];
        await relay.waitForLog(new RegExp(`access rid=${badId} `));
        const second = failedLines(badId);
        assert.deepEqual(second.map((l) => / provider=(\S+) attempt=(\d) status=(\S+) /.exec(l).slice(1).join(' ')),
            ['refused 1 -', 'flaky 2 503', 'good 3 529'], relay.logs());
        const access = relay.logs().split('\n').find((l) => l.includes(`access rid=${badId} `));
        assert.match(access, / status=529 attempts=3 failovers=2 .* error="upstream answered 529"$/);
    });

    it('logging.debug_for: debug lines for the named client and provider only, at info level', async (t) => {
        const backend = await startBackend();
        t.after(() => backend.close());
        const relay = await startRelay({
            logging: { level: 'info', debug_for: { clients: ['alice'], providers: ['second'] } },
            clients: [{ name: 'alice', key: 'sk-alice-debug' }, { name: 'bob', key: 'sk-bob-debug' }],
            providers: [
                { name: 'first', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'sk-upstream-first' }] },
                { name: 'second', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'k2' }] },
            ],
            routing: { strategy: 'model_based', model_mapping: { 'only-second': 'second', claude: 'first' } },
        });
        t.after(() => relay.stop());
        const send = async (key, model, marker) => {
            const res = await postJson(relay.url, '/v1/messages', messagesBody(model, { metadata: { user_id: marker } }),
                { headers: { 'x-api-key': key }, agent: false });
            assert.equal(res.status, 200, relay.logs().slice(-2000));
            return res.headers['x-request-id'];
        };
        const alice = await send('sk-alice-debug', 'claude-x', 'MARK-ALICE');
        const bob = await send('sk-bob-debug', 'claude-x', 'MARK-BOB');
        const viaSecond = await send('sk-bob-debug', 'only-second', 'MARK-SECOND');
        await waitFor(() => relay.logs().includes(viaSecond), { what: 'the access lines' });
        const logs = relay.logs();
        const lines = (id) => logs.split('\n').filter((l) => l.includes(id) && l.includes('debug_for'));
        assert.ok(lines(alice).some((l) => l.includes('MARK-ALICE') && l.includes('client=alice')), logs);
        // Her request's headers and the upstream request's, credentials masked.
        assert.ok(lines(alice).some((l) => l.includes('client=alice') && / x-api-key: \*\*\*;/.test(l)), logs);
        assert.ok(lines(alice).some((l) => l.includes('provider=first: POST') && / x-api-key: \*\*\*;/.test(l)), logs);
        assert.ok(lines(alice).some((l) => /provider=first: answered 200/.test(l)), logs);
        assert.equal(lines(bob).length, 0, 'bob is not debugged');
        assert.ok(!logs.includes('MARK-BOB'), 'nor his body');
        assert.ok(lines(viaSecond).some((l) => l.includes('MARK-SECOND') && l.includes('provider=second')), logs);
        assert.ok(!logs.includes('sk-upstream-first') && !logs.includes('sk-alice-debug'), 'no secret in the lines');
    });
});
