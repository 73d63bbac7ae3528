// The usage ledger survives restarts: a relay with ledger.path writes the day's requests and
// tokens (per provider, and per client of `clients:`) when it stops; a second run adds to them;
// `cc-relay usage` reads them back.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
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
            ledger: { enabled: true, path: db, interval_ms: 60_000 },
            clients: [{ name: 'alice', key: 'sk-alice-ledger' }],
            providers: [{ name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'k' }] }],
        };
        const run = async (n) => {
            const relay = await startRelay(config);
            for (let i = 0; i < n; i++) {
                const res = await postJson(relay.url, '/v1/messages', messagesBody(), { headers: { 'x-api-key': 'sk-alice-ledger' } });
                assert.equal(res.status, 200);
            }
            await relay.stop();  // SIGTERM: the master writes the ledger after its workers exit
        };
        const usage = async (...args) => {
            const r = await runCli(['usage', '--json', '--db', db, ...args]);
            assert.equal(r.code, 0, r.stderr);
            return JSON.parse(r.stdout).rows;
        };
        const today = new Date().toISOString().slice(0, 10);

        await run(3);
        let rows = await usage();
        const provider = () => rows.find((r) => r.provider === 'mock' && r.client === '*');
        const client = () => rows.find((r) => r.client === 'alice' && r.provider === '*');
        assert.equal(provider().day, today);
        assert.equal(provider().requests, 3);
        assert.equal(provider().input_tokens, 3 * MOCK_USAGE.input_tokens);
        assert.equal(provider().cache_read_tokens, 3 * MOCK_USAGE.cache_read_input_tokens);
        assert.equal(client().requests, 3);

        await run(2);
        rows = await usage('--day', today);
        assert.equal(provider().requests, 5, 'the second run adds to the first');
        assert.equal(client().output_tokens, 5 * MOCK_USAGE.output_tokens);
        assert.deepEqual(await usage('--since', '2999-01-01'), []);
        const only = await usage('--client', 'alice');
        assert.equal(only.length, 1);

        const table = await runCli(['usage', '--db', db]);
        assert.equal(table.code, 0);
        assert.match(table.stdout, new RegExp(`${today}\\s+\\*\\s+mock\\s+5\\b`));
        const missing = await runCli(['usage', '--db', path.join(dir, 'nope.db')]);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /nope\.db/);
    });
});
