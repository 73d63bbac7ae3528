// Upstream connections, from DESIGN.md ("forward over a pooled keep-alive connection"): the relay
// reuses an idle upstream connection, and a pooled connection the upstream has meanwhile closed
// never turns into a failed request.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';

import { messagesBody, postJson, withDeadline } from '../lib/http.mjs';
import { ctx } from '../lib/expect.mjs';
import { tcpToPort, waitFor } from '../lib/process.mjs';
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
        // One client connection, so every request is served by the same worker process (each
        // worker has its own pool).
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
            for (let i = 0; i < 4; i++) {
                const res = await postJson(relay.url, '/v1/messages',
                    messagesBody(undefined, { stream: i % 2 === 1 }), { agent });
                assert.equal(res.status, 200, ctx(res, relay));
            }
        } finally {
            agent.destroy();
        }
        const ports = new Set(backend.requests.map((r) => r.remotePort));
        assert.equal(ports.size, 1, `one upstream connection, saw client ports ${[...ports]}`);
    });

    it('retries on a fresh connection when the upstream closed the pooled one', async (t) => {
        backend.setKeepAliveTimeout(150);
        // One client connection, so the same worker (and its pool) serves every request.
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        t.after(() => agent.destroy());
        const a = await postJson(relay.url, '/v1/messages', messagesBody(), { agent });
        assert.equal(a.status, 200, ctx(a, relay));
        // The mock closes the idle connection after 150 ms; wait until it has.
        await withDeadline(backend.requests.at(-1).connectionClosed, 5000, 'upstream idle close');
        for (let i = 0; i < 2; i++) {
            const res = await postJson(relay.url, '/v1/messages', messagesBody(undefined, { stream: i === 1 }),
                { agent });
            assert.equal(res.status, 200, `request ${i} after the upstream closed the pooled connection: ${ctx(res, relay)}`);
            await withDeadline(backend.requests.at(-1).connectionClosed, 5000, 'upstream idle close');
        }
        assert.equal(backend.requests.length, 3);
    });

    it('an idle connection the upstream closed is closed within seconds, without another request', async (t) => {
        backend.setKeepAliveTimeout(150);
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        t.after(() => agent.destroy());
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), { agent });
        assert.equal(res.status, 200, ctx(res, relay));
        await withDeadline(backend.requests.at(-1).connectionClosed, 5000, 'upstream idle close');
        // The relay's end of that connection has read the FIN: CLOSE_WAIT until the relay closes it.
        await waitFor(() => (tcpToPort(backend.port).CLOSE_WAIT ?? 0) >= 1, { what: 'CLOSE_WAIT on the relay side' });
        // The pool's sweep (every second) finds it; before, it waited for the origin's next request.
        let states;
        await waitFor(() => !(states = tcpToPort(backend.port)).CLOSE_WAIT, { timeoutMs: 4000, what: 'the pooled socket closed' })
            .catch(() => assert.fail(`relay sockets to the backend: ${JSON.stringify(states)}`));
    });
});
