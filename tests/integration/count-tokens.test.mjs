// POST /v1/messages/count_tokens: forwarded to anthropic-type providers; answered locally with
// 200 {"input_tokens": N>0} for types that don't serve it, for count_tokens: false, and when the
// upstream answers 404. Never 404.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { postJson } from '../lib/http.mjs';
import { ctx } from '../lib/expect.mjs';
import { mockProvider, relayOverMock, startRelay } from '../lib/relay.mjs';
import { MOCK_COUNT_TOKENS, startBackend } from '../mocks/backend.mjs';

const COUNT_BODY = {
    model: 'claude-sonnet-4-5',
    system: 'You are a careful assistant.',
    messages: [
        { role: 'user', content: 'Count the tokens of this sentence, please. It has a few words in it.' },
        { role: 'assistant', content: 'Sure.' },
        { role: 'user', content: 'Thanks! '.repeat(50) },
    ],
};

function assertLocalEstimate(res, relay) {
    assert.equal(res.status, 200, ctx(res, relay));
    assert.match(String(res.headers['content-type']), /^application\/json\b/);
    const body = res.json();
    assert.equal(typeof body.input_tokens, 'number', ctx(res));
    assert.ok(Number.isInteger(body.input_tokens) && body.input_tokens > 0, `input_tokens > 0: ${res.text}`);
    return body.input_tokens;
}

describe('count_tokens on an anthropic provider', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; });

    it('is forwarded with its query string and the upstream answer passes through', async () => {
        const res = await postJson(relay.url, '/v1/messages/count_tokens?beta=true', COUNT_BODY);
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(backend.requests.length, 1);
        const rec = backend.requests[0];
        assert.equal(rec.url, '/v1/messages/count_tokens?beta=true');
        assert.deepEqual(rec.json, COUNT_BODY);
        assert.deepEqual(res.json(), { input_tokens: MOCK_COUNT_TOKENS });
        assert.ok(res.body.equals(rec.responseBody));
    });

    it('falls back to a local estimate when the upstream answers 404', async () => {
        backend.setMode({ kind: 'not_found' });
        const res = await postJson(relay.url, '/v1/messages/count_tokens', COUNT_BODY);
        assertLocalEstimate(res, relay);
        assert.equal(backend.requests.length, 1, 'the upstream was asked first');
    });
});

describe('count_tokens answered locally', { timeout: 30_000 }, () => {
    let backend;
    before(async () => { backend = await startBackend(); });
    beforeEach(() => backend.reset());
    after(async () => { await backend?.close(); });

    it('for a provider type that does not serve it (zai)', async (t) => {
        const relay = await startRelay({
            providers: [{ name: 'glm', type: 'zai', enabled: true, base_url: backend.url, keys: [{ key: 'sk-z' }] }],
        });
        t.after(() => relay.stop());
        const res = await postJson(relay.url, '/v1/messages/count_tokens?beta=true', COUNT_BODY);
        assertLocalEstimate(res, relay);
        assert.equal(backend.requests.filter((r) => r.path.endsWith('/count_tokens')).length, 0,
            'not sent upstream');
    });

    it('for an anthropic provider with count_tokens: false', async (t) => {
        const relay = await startRelay({ providers: [mockProvider(backend, { count_tokens: false })] });
        t.after(() => relay.stop());
        const res = await postJson(relay.url, '/v1/messages/count_tokens', COUNT_BODY);
        const n = assertLocalEstimate(res, relay);
        assert.notEqual(n, MOCK_COUNT_TOKENS);
        assert.equal(backend.requests.length, 0, 'not sent upstream');
    });
});
