// An `azure` / `foundry` provider, against the fake in tests/mocks/foundry.mjs (Microsoft
// Foundry's Anthropic endpoint plus an Entra ID token endpoint): the URL, the body bytes
// unchanged, the key headers or the bearer, one token for many requests, count_tokens, errors,
// failover, and no secret in the log. Wire facts: /work/shared/reference/anthropic-wire.md §7.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CLEAN_ENV, SYSTEM_WITHOUT_BILLING, assertNotLogged, assertSplicedBody, oddBody } from '../lib/cloud.mjs';
import { assertRelayError, ctx } from '../lib/expect.mjs';
import { messagesBody, parseSse, postJson } from '../lib/http.mjs';
import { startRelay } from '../lib/relay.mjs';
import { CANNED_TEXT, MOCK_COUNT_TOKENS, startBackend } from '../mocks/backend.mjs';
import { FOUNDRY_SCOPE, startFoundry } from '../mocks/foundry.mjs';

const KEY = 'az-foundry-key-0123456789abcdef';
const ENTRA = { tenant: 'c0ffee00-tenant-4f00', clientId: 'app-7e57-client', clientSecret: 'entra~Secret.Value_xyz' };

describe('foundry provider', { timeout: 60_000 }, () => {
    const relays = [];
    const relayWith = async (providers) => {
        const r = await startRelay({ server: { workers: 1 }, logging: { level: 'debug' }, providers }, { env: CLEAN_ENV });
        relays.push(r);
        return r;
    };
    let keyed;
    let entra;
    before(async () => {
        keyed = await startFoundry({ key: KEY });
        entra = await startFoundry(ENTRA);
    });
    after(async () => {
        for (const r of relays.splice(0)) await r.stop();
        await keyed?.close();
        await entra?.close();
    });
    const keyProvider = (over = {}) => ({ name: 'foundry', type: 'foundry', enabled: true, base_url: `${keyed.url}/anthropic`,
        keys: [{ key: KEY }], ...over });
    const entraProvider = (over = {}) => ({ name: 'azure', type: 'azure', enabled: true, base_url: `${entra.url}/anthropic`,
        azure_tenant_id: ENTRA.tenant, azure_client_id: ENTRA.clientId, azure_client_secret: ENTRA.clientSecret,
        azure_authority_host: entra.url, ...over });

    for (const stream of [true, false]) {
        it(`with a key (${stream ? 'stream' : 'JSON'}): /anthropic/v1/messages, x-api-key and api-key, every body byte as sent`, async () => {
            const relay = await relayWith([keyProvider()]);
            keyed.reset();
            const sent = oddBody({ stream });
            const res = await postJson(relay.url, '/v1/messages?beta=true', Buffer.from(sent.text),
                { headers: { 'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14' } });
            assert.equal(res.status, 200, ctx(res, relay));
            const [rec] = keyed.calls();
            assert.equal(rec.path, '/anthropic/v1/messages');
            assert.equal(rec.headers['x-api-key'], KEY);
            assert.equal(rec.headers['api-key'], KEY);
            assert.equal(rec.headers.authorization, undefined);
            assert.equal(rec.headers['anthropic-version'], '2023-06-01');
            assert.equal(rec.headers['anthropic-beta'], 'claude-code-20250219,interleaved-thinking-2025-05-14', 'no beta filter for Foundry');
            assert.equal(rec.body.toString('utf8'), sent.text, 'the body unchanged, model and stream included');
            assert.deepEqual(res.body, rec.responseBody, 'the answer relayed byte for byte');
            if (stream) {
                assert.equal(parseSse(res.text).filter((e) => e.name === 'content_block_delta').map((e) => e.json.delta.text).join(''),
                    CANNED_TEXT);
            }
        });
    }

    // The relay's policy for every type but anthropic (shared/cloud/request_policy.cc): the
    // billing block goes unless strip_billing_header: false.
    it("Claude Code's billing block is removed by default, kept with strip_billing_header: false", async () => {
        const sent = oddBody({ stream: true, billing: true });
        for (const [over, kept] of [[{}, false], [{ strip_billing_header: false }, true]]) {
            const relay = await relayWith([keyProvider(over)]);
            keyed.reset();
            const res = await postJson(relay.url, '/v1/messages', Buffer.from(sent.text));
            assert.equal(res.status, 200, ctx(res, relay));
            const got = keyed.calls()[0].body.toString('utf8');
            if (kept) {
                assert.equal(got, sent.text);
            } else {
                assertSplicedBody(got, {
                    kept: [sent.members.model, sent.members.stream, sent.members.max_tokens, sent.members.messages, sent.members.metadata],
                    added: [SYSTEM_WITHOUT_BILLING],
                });
            }
        }
    });

    it('with Entra ID: a client-credentials token, fetched once for many requests, sent as a bearer', async () => {
        const relay = await relayWith([entraProvider()]);
        entra.reset();
        const burst = await Promise.all(Array.from({ length: 3 }, () => postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'))));
        for (const r of burst) assert.equal(r.status, 200, ctx(r, relay));
        for (let i = 0; i < 3; i++) {
            const r = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5', { stream: true }));
            assert.equal(r.status, 200, ctx(r, relay));
        }
        assert.equal(entra.tokensIssued, 1, 'six requests, one token');
        const tok = entra.tokenRequests[0];
        assert.equal(tok.path, `/${ENTRA.tenant}/oauth2/v2.0/token`);
        assert.match(tok.headers['content-type'], /^application\/x-www-form-urlencoded/);
        assert.deepEqual(tok.form, { grant_type: 'client_credentials', client_id: ENTRA.clientId, client_secret: ENTRA.clientSecret, scope: FOUNDRY_SCOPE });
        const calls = entra.calls();
        assert.equal(calls.length, 6);
        for (const c of calls) {
            assert.equal(c.url, '/anthropic/v1/messages');
            assert.equal(c.headers.authorization, `Bearer ${tok.issued}`);
            assert.equal(c.headers['x-api-key'], undefined);
            assert.equal(c.headers['api-key'], undefined);
        }
        assertNotLogged(relay, [ENTRA.clientSecret, tok.issued]);
    });

    it('count_tokens goes to /anthropic/v1/messages/count_tokens unchanged', async () => {
        const relay = await relayWith([keyProvider()]);
        keyed.reset();
        const raw = '{"model":"claude-sonnet-4-5", "messages":[{"role":"user","content":"count ünï"}]}';
        const res = await postJson(relay.url, '/v1/messages/count_tokens', Buffer.from(raw));
        assert.equal(res.status, 200, ctx(res, relay));
        assert.deepEqual(res.json(), { input_tokens: MOCK_COUNT_TOKENS });
        const [rec] = keyed.calls();
        assert.equal(rec.url, '/anthropic/v1/messages/count_tokens');
        assert.equal(rec.body.toString('utf8'), raw);
    });

    it("Foundry's Anthropic-shaped 400 reaches the client as it came", async () => {
        const relay = await relayWith([keyProvider()]);
        keyed.reset();
        keyed.setMode({ kind: 'error', status: 400, errorType: 'invalid_request_error', message: 'max_tokens: 64001 > 64000, the maximum for this deployment' });
        const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
        keyed.setMode(undefined);
        assert.equal(res.status, 400, ctx(res, relay));
        assert.deepEqual(res.body, keyed.calls()[0].responseBody);
        assert.equal(res.json().error.type, 'invalid_request_error');
    });

    for (const status of [429, 529]) {
        it(`a ${status} from Foundry fails over to the next provider`, async () => {
            const backend = await startBackend();
            try {
                const relay = await relayWith([keyProvider({ name: `foundry-${status}` }),
                    { name: 'second', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'sk-second' }] }]);
                keyed.reset();
                keyed.setMode({ kind: 'error', status });
                const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
                keyed.setMode(undefined);
                assert.equal(res.status, 200, ctx(res, relay));
                assert.equal(res.json().content[0].text, CANNED_TEXT);
                assert.equal(keyed.calls().length, 1);
                assert.equal(backend.requests.length, 1);
                assert.equal(backend.requests[0].headers['x-api-key'], 'sk-second');
            } finally {
                await backend.close();
            }
        });
    }

    it('a token endpoint that refuses the secret fails the request with a 502 naming the provider, not the secret', async () => {
        const relay = await relayWith([entraProvider({ name: 'azure-bad', azure_client_secret: 'wrong~secret-000' })]);
        entra.reset();
        const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
        const body = assertRelayError(res, 502, 'api_error', relay);
        assert.match(body.error.message, /azure-bad/);
        assert.equal(entra.calls().length, 0, 'no call without a token');
        assertNotLogged(relay, ['wrong~secret-000']);
    });

    it('no key or secret reaches the log', () => {
        for (const r of relays) assertNotLogged(r, [KEY, ENTRA.clientSecret]);
    });
});
