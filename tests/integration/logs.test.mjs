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

import { messagesBody, postJson } from '../lib/http.mjs';
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
            providers: [{ name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'k' }] }],
        });
        t.after(() => relay.stop());
        const res = await postJson(relay.url, '/v1/messages?beta=true', messagesBody('claude-x', { stream: true }), { agent: false });
        assert.equal(res.status, 200);
        const id = res.headers['x-request-id'];
        await waitFor(() => relay.logs().includes(id), { what: 'the access line' });
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
        assert.ok(lines(alice).some((l) => /provider=first: answered 200/.test(l)), logs);
        assert.equal(lines(bob).length, 0, 'bob is not debugged');
        assert.ok(!logs.includes('MARK-BOB'), 'nor his body');
        assert.ok(lines(viaSecond).some((l) => l.includes('MARK-SECOND') && l.includes('provider=second')), logs);
        assert.ok(!logs.includes('sk-upstream-first') && !logs.includes('sk-alice-debug'), 'no secret in the lines');
    });
});
