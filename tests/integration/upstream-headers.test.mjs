// What the upstream receives: provider credentials, client credential pass-through for a keyless
// anthropic provider (minus the proxy's own secrets), anthropic-* headers, hop-by-hop headers.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { messagesBody, parseRawResponse, postJson, rawExchange } from '../lib/http.mjs';
import { ctx } from '../lib/expect.mjs';
import { mockProvider, relayOverMock, startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

const CLIENT_KEY = 'sk-ant-client-key-0001';
const CLIENT_TOKEN = 'client-bearer-token-0002';

function allHeaderValues(rec) {
    return Object.values(rec.headers).flat().join('\n');
}

describe('provider keys replace client credentials', { timeout: 40_000 }, () => {
    let backend;
    before(async () => { backend = await startBackend(); });
    after(async () => { await backend?.close(); });

    const cases = [
        ['anthropic', 'x-api-key'],
        ['minimax', 'x-api-key'],
        ['deepseek', 'x-api-key'],
        ['zai', 'bearer'],
        ['moonshot', 'bearer'],
        ['openrouter', 'bearer'],
        ['ollama', 'bearer'],
    ];
    for (const [type, scheme] of cases) {
        it(`${type}: the upstream gets only ${scheme === 'bearer' ? 'Authorization: Bearer <key>' : 'x-api-key: <key>'}`, async (t) => {
            backend.reset();
            const key = `sk-upstream-${type}-1`;
            const relay = await startRelay({
                providers: [{ name: `p-${type}`, type, enabled: true, base_url: backend.url, keys: [{ key }] }],
            });
            t.after(() => relay.stop());
            const res = await postJson(relay.url, '/v1/messages', messagesBody(), {
                headers: { 'x-api-key': CLIENT_KEY, authorization: `Bearer ${CLIENT_TOKEN}` },
            });
            assert.equal(res.status, 200, ctx(res, relay));
            assert.equal(backend.requests.length, 1);
            const rec = backend.requests[0];
            assert.equal(rec.path, '/v1/messages');
            if (scheme === 'bearer') {
                assert.equal(rec.headers.authorization, `Bearer ${key}`);
                assert.equal(rec.headers['x-api-key'], undefined, 'no x-api-key upstream');
            } else {
                assert.equal(rec.headers['x-api-key'], key);
                assert.equal(rec.headers.authorization, undefined, 'no Authorization upstream');
            }
            const all = allHeaderValues(rec);
            assert.ok(!all.includes(CLIENT_KEY), 'the client x-api-key never reaches the upstream');
            assert.ok(!all.includes(CLIENT_TOKEN), 'the client bearer token never reaches the upstream');
        });
    }
});

describe('keyless anthropic provider passes client credentials through', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; });

    it('forwards the client x-api-key and anthropic-beta unchanged', async () => {
        const beta = 'claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27';
        const res = await postJson(relay.url, '/v1/messages', messagesBody(),
            { headers: { 'x-api-key': CLIENT_KEY, 'anthropic-beta': beta } });
        assert.equal(res.status, 200, ctx(res, relay));
        const rec = backend.requests[0];
        assert.equal(rec.headers['x-api-key'], CLIENT_KEY);
        assert.equal(rec.headers['anthropic-beta'], beta);
    });

    it('forwards a client OAuth bearer token unchanged', async () => {
        const token = 'sk-ant-oat01-subscription-token';
        const res = await postJson(relay.url, '/v1/messages', messagesBody(),
            { headers: { authorization: `Bearer ${token}`, 'anthropic-beta': 'oauth-2025-04-20' } });
        assert.equal(res.status, 200, ctx(res, relay));
        const rec = backend.requests[0];
        assert.equal(rec.headers.authorization, `Bearer ${token}`);
        assert.equal(rec.headers['anthropic-beta'], 'oauth-2025-04-20');
    });

    it('never forwards the dummy token managed-by-cc-relay', async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody(),
            { headers: { authorization: 'Bearer managed-by-cc-relay' } });
        assert.equal(res.status, 200, ctx(res, relay));
        const rec = backend.requests[0];
        assert.ok(!allHeaderValues(rec).includes('managed-by-cc-relay'),
            `upstream headers: ${JSON.stringify(rec.headers)}`);
        assert.equal(rec.headers.authorization, undefined);
    });

    it('never forwards managed-by-cc-relay sent as x-api-key', async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody(),
            { headers: { 'x-api-key': 'managed-by-cc-relay' } });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.ok(!allHeaderValues(backend.requests[0]).includes('managed-by-cc-relay'));
    });
});

describe("keyless anthropic provider never forwards the proxy's own secrets", { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; }, (backend) => ({
        server: { auth: { api_key: 'proxy-secret-key', allow_bearer: true, bearer_secret: 'proxy-bearer-secret' } },
        providers: [mockProvider(backend)],
    }));

    it('drops x-api-key equal to auth.api_key', async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody(),
            { headers: { 'x-api-key': 'proxy-secret-key' } });
        assert.equal(res.status, 200, ctx(res, relay));
        const rec = backend.requests[0];
        assert.ok(!allHeaderValues(rec).includes('proxy-secret-key'), JSON.stringify(rec.headers));
        assert.equal(rec.headers['x-api-key'], undefined);
    });

    it('drops Authorization: Bearer <bearer_secret>', async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody(),
            { headers: { authorization: 'Bearer proxy-bearer-secret' } });
        assert.equal(res.status, 200, ctx(res, relay));
        const rec = backend.requests[0];
        assert.ok(!allHeaderValues(rec).includes('proxy-bearer-secret'), JSON.stringify(rec.headers));
        assert.equal(rec.headers.authorization, undefined);
    });

    it('drops the bearer secret sent with a lower-case scheme', async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody(),
            { headers: { authorization: 'bearer proxy-bearer-secret' } });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.ok(!allHeaderValues(backend.requests[0]).includes('proxy-bearer-secret'));
    });

    it("forwards the client's own x-api-key while dropping the bearer secret", async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody(),
            { headers: { authorization: 'Bearer proxy-bearer-secret', 'x-api-key': CLIENT_KEY } });
        assert.equal(res.status, 200, ctx(res, relay));
        const rec = backend.requests[0];
        assert.equal(rec.headers['x-api-key'], CLIENT_KEY);
        assert.ok(!allHeaderValues(rec).includes('proxy-bearer-secret'));
    });
});

describe('subscription pass-through on a shared host', { timeout: 30_000 }, () => {
    // Proxy key as x-api-key (to get in), the user's own subscription token as Bearer (for
    // Anthropic): the token goes upstream, the proxy key does not.
    let backend;
    let relay;
    before(async () => {
        backend = await startBackend();
        relay = await startRelay({
            server: { auth: { api_key: 'proxy-secret-key', allow_subscription: true } },
            providers: [mockProvider(backend)],
        });
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    it('forwards the Bearer subscription token and drops the proxy x-api-key', async () => {
        const token = 'sk-ant-oat01-user-own-token';
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), {
            headers: { 'x-api-key': 'proxy-secret-key', authorization: `Bearer ${token}`,
                'anthropic-beta': 'oauth-2025-04-20' },
        });
        assert.equal(res.status, 200, ctx(res, relay));
        const rec = backend.requests[0];
        assert.equal(rec.headers.authorization, `Bearer ${token}`);
        assert.ok(!allHeaderValues(rec).includes('proxy-secret-key'), JSON.stringify(rec.headers));
    });
});

describe('anthropic-* and hop-by-hop headers', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; }, (backend) => ({
        providers: [mockProvider(backend, { keys: [{ key: 'sk-upstream-1' }] })],
    }));

    it('forwards anthropic-version, anthropic-beta and other anthropic-* headers unchanged', async () => {
        const headers = {
            'anthropic-version': '2023-06-01',
            'anthropic-beta': 'a-beta-2025-01-01, b-beta-2026-02-02',
            'anthropic-dangerous-direct-browser-access': 'true',
            'anthropic-custom-thing': 'Value With Spaces',
        };
        const res = await postJson(relay.url, '/v1/messages?beta=true', messagesBody(), { headers });
        assert.equal(res.status, 200, ctx(res, relay));
        const rec = backend.requests[0];
        for (const [k, v] of Object.entries(headers)) assert.equal(rec.headers[k], v, k);
    });

    it('strips hop-by-hop headers, including those named in Connection', async () => {
        const body = JSON.stringify(messagesBody());
        const raw = [
            'POST /v1/messages HTTP/1.1',
            `Host: 127.0.0.1:${relay.port}`,
            'Content-Type: application/json',
            `Content-Length: ${Buffer.byteLength(body)}`,
            'anthropic-version: 2023-06-01',
            'Connection: close, X-Hop-Custom',
            'X-Hop-Custom: must-not-pass',
            'Keep-Alive: timeout=5, max=100',
            'TE: trailers',
            'Trailer: X-Checksum',
            'Upgrade: h2c',
            'Proxy-Authorization: Basic cHJveHk6c2VjcmV0',
            'Proxy-Connection: keep-alive',
            '', body,
        ].join('\r\n');
        const out = await rawExchange(relay.port, raw, { timeoutMs: 5000 });
        const res = parseRawResponse(out.data);
        assert.equal(res.status, 200, `raw response: ${out.data.slice(0, 500)}\n${relay.logs().slice(-2000)}`);
        assert.equal(backend.requests.length, 1);
        const h = backend.requests[0].headers;
        for (const name of ['x-hop-custom', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-connection']) {
            assert.equal(h[name], undefined, `${name} must not reach the upstream (got ${h[name]})`);
        }
        assert.ok(!String(h.connection ?? '').toLowerCase().includes('x-hop-custom'),
            `Connection upstream: ${h.connection}`);
        assert.ok(!allHeaderValues(backend.requests[0]).includes('cHJveHk6c2VjcmV0'));
    });

    // Not a hop-by-hop header, so a transparent proxy forwards it (wire reference: "forward
    // headers and body unchanged"); Claude Code's session id is meant for gateways and upstreams.
    it('forwards end-to-end headers such as X-Claude-Code-Session-Id', async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), {
            headers: { 'x-claude-code-session-id': '1b7a4c2e-0000-4000-8000-000000000001', 'x-app': 'cli' },
        });
        assert.equal(res.status, 200, ctx(res, relay));
        const h = backend.requests[0].headers;
        assert.equal(h['x-claude-code-session-id'], '1b7a4c2e-0000-4000-8000-000000000001');
        assert.equal(h['x-app'], 'cli');
    });
});
