// server.max_concurrent: requests beyond the cap get 503 with Retry-After, and the cap frees up
// again as soon as a request ends.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { messagesBody, postJson, waitFor } from '../lib/http.mjs';
import { assertRelayError } from '../lib/expect.mjs';
import { mockProvider, relayOverMock, startRelay } from '../lib/relay.mjs';
import { mockModel, startBackend } from '../mocks/backend.mjs';

describe('server.max_concurrent', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    before(async () => {
        backend = await startBackend();
        relay = await startRelay({
            server: { workers: 1, max_concurrent: 1 },
            providers: [mockProvider(backend)],
        });
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    it('answers 503 with Retry-After while the cap is reached, and serves again afterwards', async () => {
        const slow = postJson(relay.url, '/v1/messages',
            messagesBody(mockModel('sse', { events: 4, delay: 250 }), { stream: true }));
        await waitFor(() => backend.requests.length === 1, { what: 'the slow stream reaching the mock' });
        const busy = await postJson(relay.url, '/v1/messages', messagesBody());
        assertRelayError(busy, 503, 'api_error', relay);
        assert.equal(busy.headers['retry-after'], '1');
        assert.match(busy.json().error.message, /max_concurrent/);
        assert.equal(backend.requests.length, 1, 'the refused request must not reach the upstream');
        assert.equal((await slow).status, 200);
        const again = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(again.status, 200);
    });
});

describe('server.max_concurrent is one count for the whole service', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; }, (backend) => ({
        server: { workers: 4, max_concurrent: 2 },
        providers: [mockProvider(backend)],
    }));

    it('two streams in flight (on any workers) fill the cap: every other request gets 503', async () => {
        const slow = [0, 1].map(() => postJson(relay.url, '/v1/messages',
            messagesBody(mockModel('sse', { events: 6, delay: 250 }), { stream: true }), { timeoutMs: 15_000 }));
        await waitFor(() => backend.requests.length === 2, { what: 'both streams reaching the mock' });
        // Fresh connections land on whichever worker the kernel picks: with a per-worker split
        // (ceil(2/4) = 1 each) most of these would be admitted.
        for (let i = 0; i < 8; ++i) {
            const busy = await postJson(relay.url, '/v1/messages', messagesBody());
            assertRelayError(busy, 503, 'api_error', relay);
        }
        assert.equal(backend.requests.length, 2, 'nothing else reached the upstream');
        for (const s of await Promise.all(slow)) assert.equal(s.status, 200);
        const again = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(again.status, 200, 'the places came back');
    });
});
