// routing.debug: relayed answers say which provider and strategy served them and how long the
// relay itself took (X-CC-Relay-Overhead-Ms); without it none of that leaks.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { messagesBody, postJson } from '../lib/http.mjs';
import { mockProvider, startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

describe('routing.debug headers', { timeout: 30_000 }, () => {
    let backend;
    let debugRelay;
    let plainRelay;
    before(async () => {
        backend = await startBackend();
        debugRelay = await startRelay({ routing: { debug: true }, providers: [mockProvider(backend)] });
        plainRelay = await startRelay({ providers: [mockProvider(backend)] });
    });
    after(async () => {
        await debugRelay?.stop();
        await plainRelay?.stop();
        await backend?.close();
    });

    it('adds provider, strategy and a small non-negative overhead when routing.debug is on', async () => {
        const res = await postJson(debugRelay.url, '/v1/messages', messagesBody());
        assert.equal(res.status, 200);
        assert.equal(res.headers['x-cc-relay-provider'], mockProvider(backend).name);
        assert.equal(res.headers['x-cc-relay-strategy'], 'failover');
        assert.equal(res.headers['x-cc-relay-attempts'], '1');
        const overhead = Number(res.headers['x-cc-relay-overhead-ms']);
        assert.ok(Number.isFinite(overhead) && overhead >= 0 && overhead < 1000,
            `X-CC-Relay-Overhead-Ms: ${res.headers['x-cc-relay-overhead-ms']}`);
    });

    it('adds none of them when routing.debug is off', async () => {
        const res = await postJson(plainRelay.url, '/v1/messages', messagesBody());
        assert.equal(res.status, 200);
        for (const h of ['x-cc-relay-provider', 'x-cc-relay-strategy', 'x-cc-relay-overhead-ms', 'x-cc-relay-attempts']) {
            assert.equal(res.headers[h], undefined, h);
        }
    });
});
