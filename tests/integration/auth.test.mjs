// Client authentication (server.auth):
//   "Authorization: Bearer K" with K = auth.api_key → accepted (the key in either header).
//   Bearer enabled (allow_bearer or allow_subscription) and "Authorization: Bearer T" present →
//     T must equal bearer_secret when one is set (else 401); any T when none is set, but only
//     as the client's own credential: it reaches anthropic providers without keys, and a
//     provider that would add its key answers 401.
//   Otherwise x-api-key must equal auth.api_key (or the legacy server.api_key).
//   No valid credential → 401 authentication_error, but only when some auth is configured; then
//   every route but /health and the HEAD probes requires it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { messagesBody, postJson, request } from '../lib/http.mjs';
import { assertRelayError, ctx } from '../lib/expect.mjs';
import { mockProvider, relayOverMock, startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

function authSuite(title, serverConfig, cases, providers = (backend) => [
    mockProvider(backend, { keys: [{ key: 'sk-upstream-1' }] })]) {
    describe(title, { timeout: 30_000 }, () => {
        let backend;
        let relay;
        before(async () => {
            backend = await startBackend();
            relay = await startRelay({
                server: serverConfig,
                providers: providers(backend),
            });
        });
        after(async () => {
            await relay?.stop();
            await backend?.close();
        });
        for (const [name, headers, want] of cases) {
            it(`${name} → ${want}`, async () => {
                backend.reset();
                const res = await postJson(relay.url, '/v1/messages', messagesBody(), { headers });
                if (want === 200) {
                    assert.equal(res.status, 200, ctx(res, relay));
                    assert.equal(backend.requests.length, 1);
                } else {
                    assertRelayError(res, 401, 'authentication_error', relay);
                    assert.equal(backend.requests.length, 0, 'a rejected request is not forwarded');
                }
            });
        }
    });
}

const bearer = (t) => ({ authorization: `Bearer ${t}` });

authSuite('no auth configured', {}, [
    ['no credentials', {}, 200],
    ['any x-api-key', { 'x-api-key': 'whatever' }, 200],
    ['any bearer token', bearer('whatever'), 200],
]);

authSuite('auth.api_key only', { auth: { api_key: 'proxy-key-1' } }, [
    ['no credentials', {}, 401],
    ['wrong x-api-key', { 'x-api-key': 'nope' }, 401],
    ['right x-api-key', { 'x-api-key': 'proxy-key-1' }, 200],
    ['the key as a bearer token (SDK 1.x, ANTHROPIC_AUTH_TOKEN)', bearer('proxy-key-1'), 200],
    ['another bearer token while bearer is off', bearer('proxy-key-2'), 401],
    ['a key that only shares a prefix', { 'x-api-key': 'proxy-key-10' }, 401],
    ['right key, header name in upper case (X-API-KEY)', { 'X-API-KEY': 'proxy-key-1' }, 200],
]);

authSuite('legacy server.api_key', { api_key: 'legacy-key-1' }, [
    ['no credentials', {}, 401],
    ['wrong x-api-key', { 'x-api-key': 'nope' }, 401],
    ['right x-api-key', { 'x-api-key': 'legacy-key-1' }, 200],
]);

authSuite('allow_bearer without a secret, a provider with keys', { auth: { allow_bearer: true } }, [
    // Any token proves nothing: it must not spend the provider's key.
    ['any bearer token', bearer('anything-goes'), 401],
    ['no credentials', {}, 401],
    ['an x-api-key alone (no api_key configured)', { 'x-api-key': 'anything' }, 401],
]);

authSuite('allow_bearer without a secret, an anthropic provider without keys',
    { auth: { allow_bearer: true } }, [
        ['any bearer token (passed through as the client\'s own)', bearer('sk-ant-oat01-user'), 200],
        ['no credentials', {}, 401],
    ], (backend) => [mockProvider(backend)]);

authSuite('api_key with allow_bearer and an empty bearer_secret (the accidental open relay)',
    { auth: { api_key: 'proxy-key-3', allow_bearer: true, bearer_secret: '' } }, [
        ['a random bearer token', bearer('totally-random'), 401],
        ['the key as a bearer token', bearer('proxy-key-3'), 200],
        ['the key as x-api-key', { 'x-api-key': 'proxy-key-3' }, 200],
        ['a random bearer token beside the right x-api-key', { ...bearer('sub-token'), 'x-api-key': 'proxy-key-3' }, 200],
    ], (backend) => [mockProvider(backend, { name: 'ds', type: 'deepseek', keys: [{ key: 'sk-deepseek-1' }] })]);

authSuite('allow_subscription with bearer_secret and api_key',
    { auth: { allow_subscription: true, bearer_secret: 'bearer-secret-1', api_key: 'proxy-key-2' } }, [
        ['the bearer secret', bearer('bearer-secret-1'), 200],
        ['a wrong bearer token', bearer('not-the-secret'), 401],
        ['a wrong bearer token with the right x-api-key',
            { ...bearer('not-the-secret'), 'x-api-key': 'proxy-key-2' }, 401],
        ['the right x-api-key without Authorization', { 'x-api-key': 'proxy-key-2' }, 200],
        ['a wrong x-api-key without Authorization', { 'x-api-key': 'nope' }, 401],
        ['no credentials', {}, 401],
    ]);

authSuite('allow_bearer with bearer_secret, no api_key',
    { auth: { allow_bearer: true, bearer_secret: 'bearer-secret-2' } }, [
        ['the bearer secret', bearer('bearer-secret-2'), 200],
        ['the bearer secret with a lower-case scheme', { authorization: 'bearer bearer-secret-2' }, 200],
        ['the bearer secret, header name in upper case', { AUTHORIZATION: 'Bearer bearer-secret-2' }, 200],
        ['a wrong bearer token', bearer('bearer-secret-3'), 401],
        ['no credentials', {}, 401],
    ]);

describe('a pass-through bearer token only reaches providers that forward the client\'s own credentials', { timeout: 30_000 }, () => {
    let keyed;
    let sub;
    let relay;
    before(async () => {
        keyed = await startBackend();
        sub = await startBackend();
        relay = await startRelay({
            server: { auth: { api_key: 'proxy-key-4', allow_bearer: true } },
            providers: [
                mockProvider(keyed, { name: 'ds', type: 'deepseek', keys: [{ key: 'sk-deepseek-2' }] }),
                mockProvider(sub, { name: 'sub' }),
            ],
        });
    });
    after(async () => {
        await relay?.stop();
        await keyed?.close();
        await sub?.close();
    });

    it('skips the provider with keys and sends the client\'s token to the one without', async () => {
        keyed.reset();
        sub.reset();
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), { headers: bearer('sk-ant-oat01-mine') });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(keyed.requests.length, 0, 'the provider key was never used');
        assert.equal(sub.requests.length, 1);
        assert.equal(sub.requests[0].headers.authorization, 'Bearer sk-ant-oat01-mine');
    });

    it('sends the relay key\'s holder to the first provider with its own key, never the client\'s', async () => {
        keyed.reset();
        sub.reset();
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), { headers: bearer('proxy-key-4') });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(keyed.requests.length, 1);
        const h = keyed.requests[0].headers;
        assert.equal(h['x-api-key'] ?? h.authorization?.replace(/^Bearer /, ''), 'sk-deepseek-2');
        assert.ok(!JSON.stringify(h).includes('proxy-key-4'), 'the relay key is never forwarded');
    });
});

describe('with auth configured, every route but /health and the HEAD probes requires it', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; }, (backend) => ({
        server: { auth: { api_key: 'proxy-key-5' } },
        providers: [mockProvider(backend, { keys: [{ key: 'sk-upstream-5' }] })],
    }));

    for (const [method, path] of [['GET', '/v1/models'], ['GET', '/v1/providers'], ['HEAD', '/v1/models'],
        ['GET', '/'], ['GET', '/no/such/route'], ['POST', '/v1/models']]) {
        it(`${method} ${path} without credentials → 401`, async () => {
            const res = await request(`${relay.url}${path}`, { method });
            if (method === 'HEAD') {
                assert.equal(res.status, 401, ctx(res, relay));
            } else {
                assertRelayError(res, 401, 'authentication_error', relay);
            }
        });
    }

    for (const [method, path] of [['GET', '/health'], ['HEAD', '/health'], ['HEAD', '/'], ['HEAD', '/api/hello']]) {
        it(`${method} ${path} without credentials → 200`, async () => {
            const res = await request(`${relay.url}${path}`, { method });
            assert.equal(res.status, 200, ctx(res, relay));
        });
    }

    it('GET /v1/models and /v1/providers answer with the key, in either header', async () => {
        for (const headers of [{ 'x-api-key': 'proxy-key-5' }, bearer('proxy-key-5')]) {
            for (const path of ['/v1/models', '/v1/providers']) {
                const res = await request(`${relay.url}${path}`, { headers });
                assert.equal(res.status, 200, ctx(res, relay));
            }
        }
    });

    it('/v1/providers does not show where the providers live', async () => {
        const res = await request(`${relay.url}/v1/providers`, { headers: { 'x-api-key': 'proxy-key-5' } });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(res.json().data[0].name, 'mock');
        assert.ok(!('base_url' in res.json().data[0]));
        assert.ok(!res.text.includes(backend.url), res.text);
    });
});
