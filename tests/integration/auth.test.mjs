// Client authentication (server.auth):
//   Bearer enabled (allow_bearer or allow_subscription) and "Authorization: Bearer T" present →
//     T must equal bearer_secret when one is set (else 401); any T when none is set.
//   Otherwise x-api-key must equal auth.api_key (or the legacy server.api_key).
//   No valid credential → 401 authentication_error, but only when some auth is configured.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { messagesBody, postJson } from '../lib/http.mjs';
import { assertRelayError, ctx } from '../lib/expect.mjs';
import { mockProvider, startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

function authSuite(title, serverConfig, cases) {
    describe(title, { timeout: 30_000 }, () => {
        let backend;
        let relay;
        before(async () => {
            backend = await startBackend();
            relay = await startRelay({
                server: serverConfig,
                providers: [mockProvider(backend, { keys: [{ key: 'sk-upstream-1' }] })],
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
    ['the key as a bearer token while bearer is off', bearer('proxy-key-1'), 401],
    ['a key that only shares a prefix', { 'x-api-key': 'proxy-key-10' }, 401],
    ['right key, header name in upper case (X-API-KEY)', { 'X-API-KEY': 'proxy-key-1' }, 200],
]);

authSuite('legacy server.api_key', { api_key: 'legacy-key-1' }, [
    ['no credentials', {}, 401],
    ['wrong x-api-key', { 'x-api-key': 'nope' }, 401],
    ['right x-api-key', { 'x-api-key': 'legacy-key-1' }, 200],
]);

authSuite('allow_bearer without a secret', { auth: { allow_bearer: true } }, [
    ['any bearer token', bearer('anything-goes'), 200],
    ['no credentials', {}, 401],
    ['an x-api-key alone (no api_key configured)', { 'x-api-key': 'anything' }, 401],
]);

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
