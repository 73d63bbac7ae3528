// Upstream connections, from DESIGN.md ("forward over a pooled keep-alive connection"): the relay
// reuses an idle upstream connection, and a pooled connection the upstream has meanwhile closed
// never turns into a failed request.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { messagesBody, postJson, waitFor } from '../lib/http.mjs';
import { ctx } from '../lib/expect.mjs';
import { mockProvider, startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

describe('upstream connection pool', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    before(async () => {
        backend = await startBackend();
        relay = await startRelay({ providers: [mockProvider(backend)] });
    });
    beforeEach(() => {
        backend.reset();
        backend.setKeepAliveTimeout(30_000);
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    it('reuses one upstream connection for sequential requests', async () => {
        for (let i = 0; i < 4; i++) {
            const res = await postJson(relay.url, '/v1/messages',
                messagesBody(undefined, { stream: i % 2 === 1 }));
            assert.equal(res.status, 200, ctx(res, relay));
        }
        const ports = new Set(backend.requests.map((r) => r.remotePort));
        assert.equal(ports.size, 1, `one upstream connection, saw client ports ${[...ports]}`);
    });

    it('retries on a fresh connection when the upstream closed the pooled one', async () => {
        backend.setKeepAliveTimeout(150);
        const a = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(a.status, 200, ctx(a, relay));
        // The mock closes the idle connection after 150 ms; wait until it has.
        await waitFor(() => backend.openConnections() === 0, { timeoutMs: 5000, what: 'upstream idle close' });
        for (let i = 0; i < 2; i++) {
            const res = await postJson(relay.url, '/v1/messages', messagesBody(undefined, { stream: i === 1 }));
            assert.equal(res.status, 200, `request ${i} after the upstream closed the pooled connection: ${ctx(res, relay)}`);
            await waitFor(() => backend.openConnections() === 0, { timeoutMs: 5000, what: 'upstream idle close' });
        }
        assert.equal(backend.requests.length, 3);
    });
});
