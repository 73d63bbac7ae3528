// The usage ledger survives restarts: a relay with ledger.path writes the day's requests and
// tokens (per provider, and per client of `clients:`) at its interval and when it stops; a second run adds to them;
// `cc-relay usage` reads them back.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

import { messagesBody, postJson } from '../lib/http.mjs';
import { runCli } from '../lib/process.mjs';
import { startRelay } from '../lib/relay.mjs';
import { MOCK_USAGE, startBackend } from '../mocks/backend.mjs';

describe('usage ledger', { timeout: 60_000 }, () => {
    it('counts survive a restart and `cc-relay usage` reads them', async (t) => {
        const backend = await startBackend();
        t.after(() => backend.close());
        const dir = await mkdtemp(path.join(tmpdir(), 'cc-relay-ledger-'));
        t.after(() => rm(dir, { recursive: true, force: true }));
        const db = path.join(dir, 'state', 'usage.db');
        const config = {
            ledger: { enabled: true, path: db, interval_ms: 1000 },
            clients: [{ name: 'alice', key: 'sk-alice-ledger' }],
            providers: [{ name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'k' }] }],
        };
        const usage = async (...args) => {
            const r = await runCli(['usage', '--json', '--db', db, ...args]);
            assert.equal(r.code, 0, r.stderr);
            return JSON.parse(r.stdout).rows;
        };
        const run = async (n, { whileRunning } = {}) => {
            const relay = await startRelay(config);
            for (let i = 0; i < n; i++) {
                const res = await postJson(relay.url, '/v1/messages', messagesBody(), { headers: { 'x-api-key': 'sk-alice-ledger' } });
                assert.equal(res.status, 200);
            }
            if (whileRunning) await whileRunning();
            await relay.stop();  // SIGTERM: the master writes the ledger after its workers exit
        };
        const today = new Date().toISOString().slice(0, 10);

        let rows = [];
        const provider = () => rows.find((r) => r.provider === 'mock' && r.client === '*');
        const client = () => rows.find((r) => r.client === 'alice' && r.provider === '*');

        // The first run writes every second too: the counts are there before it stops, and the
        // write at stop adds nothing twice.
        await run(3, {
            whileRunning: async () => {
                const deadline = Date.now() + 10_000;
                for (;;) {
                    rows = await usage();
                    if (provider()?.requests === 3 && client()?.requests === 3) break;
                    assert.ok(Date.now() < deadline, `no interval write within 10 s: ${JSON.stringify(rows)}`);
                    await new Promise((r) => setTimeout(r, 200));
                }
            },
        });
        config.ledger.interval_ms = 60_000;  // the second run: only the write at stop
        rows = await usage();
        assert.equal(provider().day, today);
        assert.equal(provider().requests, 3);
        assert.equal(provider().input_tokens, 3 * MOCK_USAGE.input_tokens);
        assert.equal(provider().cache_read_tokens, 3 * MOCK_USAGE.cache_read_input_tokens);
        assert.equal(client().requests, 3);
        assert.equal(client().cache_read_tokens, 3 * MOCK_USAGE.cache_read_input_tokens);

        await run(2);
        rows = await usage('--day', today);
        assert.equal(provider().requests, 5, 'the second run adds to the first');
        assert.equal(client().output_tokens, 5 * MOCK_USAGE.output_tokens);
        assert.deepEqual(await usage('--since', '2999-01-01'), []);
        const only = await usage('--client', 'alice');
        assert.equal(only.length, 1);

        // Without --db: ledger.path from the config.
        const cfgFile = path.join(dir, 'config.yaml');
        await writeFile(cfgFile, `ledger:\n  path: ${JSON.stringify(db)}\n`);
        const viaConfig = await runCli(['usage', '--json', '--config', cfgFile]);
        assert.equal(viaConfig.code, 0, viaConfig.stderr);
        assert.equal(JSON.parse(viaConfig.stdout).ledger, db);
        assert.equal(JSON.parse(viaConfig.stdout).rows.length, rows.length);

        const table = await runCli(['usage', '--db', db]);
        assert.equal(table.code, 0);
        assert.match(table.stdout, new RegExp(`${today}\\s+\\*\\s+mock\\s+5\\b`));
        for (const line of table.stdout.split('\n')) assert.ok(line.length <= 80, `wider than 80: ${line}`);
        const missing = await runCli(['usage', '--db', path.join(dir, 'nope.db')]);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /nope\.db/);
    });
});
