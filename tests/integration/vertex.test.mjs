// A `vertex` provider, against the fake in tests/mocks/vertex.mjs (Vertex AI plus a Google token
// endpoint that verifies the RS256 assertion with the service account's public key): the URL and
// body rawPredict/streamRawPredict get, the bearer token and how often it is fetched, its refresh,
// authorized_user credentials, count-tokens, Google's error envelopes in Anthropic's shape,
// failover, and no secret in the log. Wire facts: /work/shared/reference/anthropic-wire.md §6.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CLEAN_ENV, SYSTEM_WITHOUT_BILLING, assertNotLogged, assertSplicedBody, oddBody } from '../lib/cloud.mjs';
import { assertRelayError, ctx } from '../lib/expect.mjs';
import { messagesBody, parseSse, postJson, waitFor } from '../lib/http.mjs';
import { startRelay } from '../lib/relay.mjs';
import { CANNED_TEXT, MOCK_COUNT_TOKENS, MOCK_USAGE, startBackend } from '../mocks/backend.mjs';
import { CLOUD_PLATFORM_SCOPE, JWT_BEARER, googleError, makeServiceAccount, startVertex } from '../mocks/vertex.mjs';

const MODEL = 'claude-sonnet-4-5@20250929';
const MODELS = '/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models';
const VERSION = /"anthropic_version"\s*:\s*"vertex-2023-10-16"/;
const USER = { client_id: '764086051850-fake.apps.googleusercontent.com', client_secret: 'd-FL95Q19q7MQmFpd7hHD0Ty', refresh_token: '1//0fake-refresh-token-xyz' };

describe('vertex provider', { timeout: 60_000 }, () => {
    const sa = makeServiceAccount();
    const privateKeyLine = sa.privateKeyPem.split('\n')[3];
    let dir;
    let vertex;
    let keyFile;
    const relays = [];
    const relayWith = async (providers) => {
        const r = await startRelay({ server: { workers: 1 }, logging: { level: 'debug' }, providers }, { env: CLEAN_ENV });
        relays.push(r);
        return r;
    };
    const provider = (over = {}) => ({
        name: 'vertex', type: 'vertex', enabled: true, base_url: vertex.url, gcp_project_id: 'proj-1',
        gcp_region: 'us-east5', gcp_credentials_file: keyFile, model_mapping: { 'claude-sonnet-4-5': MODEL }, ...over,
    });
    before(async () => {
        dir = await mkdtemp(path.join(tmpdir(), 'cc-relay-vertex-'));
        vertex = await startVertex({ serviceAccount: sa, authorizedUser: USER });
        keyFile = path.join(dir, 'service-account.json');
        await writeFile(keyFile, JSON.stringify(sa.keyFile(vertex.tokenUri), null, 2));
    });
    after(async () => {
        for (const r of relays.splice(0)) await r.stop();
        await vertex?.close();
        await rm(dir, { recursive: true, force: true });
    });

    it('streams via streamRawPredict with the adapted body and a bearer from a verified service-account assertion', async () => {
        const relay = await relayWith([provider()]);
        vertex.reset();
        const sent = oddBody({ stream: true, billing: true });
        const res = await postJson(relay.url, '/v1/messages?beta=true', Buffer.from(sent.text), {
            headers: { 'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14,context-1m-2025-08-07' },
        });
        assert.equal(res.status, 200, ctx(res, relay));
        // One token exchange, JWT-bearer, the assertion as Google wants it.
        assert.equal(vertex.tokenExchanges, 1);
        const ex = vertex.exchanges[0];
        assert.equal(ex.form.grant_type, JWT_BEARER);
        assert.deepEqual(Object.keys(ex.form).sort(), ['assertion', 'grant_type']);
        assert.equal(ex.jwt.header.alg, 'RS256');
        assert.equal(ex.jwt.header.kid, sa.keyId);
        assert.equal(ex.jwt.claims.iss, sa.email);
        assert.equal(ex.jwt.claims.aud, vertex.tokenUri);
        assert.equal(ex.jwt.claims.scope, CLOUD_PLATFORM_SCOPE);
        assert.ok(Math.abs(ex.jwt.claims.iat - Date.now() / 1000) < 60, 'iat is now');
        // The call.
        const [rec] = vertex.calls();
        assert.equal(rec.url, `${MODELS}/${MODEL}:streamRawPredict`, 'no ?beta=true');
        assert.equal(rec.headers.authorization, `Bearer ${ex.issued}`);
        assert.equal(rec.headers['anthropic-beta'], 'interleaved-thinking-2025-05-14,context-1m-2025-08-07', 'betas stay a header, filtered');
        assert.equal(rec.headers['x-api-key'], undefined);
        const got = rec.body.toString('utf8');
        assertSplicedBody(got, {
            kept: [sent.members.stream, sent.members.max_tokens, sent.members.messages, sent.members.metadata],
            added: [VERSION, SYSTEM_WITHOUT_BILLING],
        });
        assert.equal(JSON.parse(got).anthropic_beta, undefined, 'no anthropic_beta in a Vertex body');
        // SSE passes through byte for byte.
        assert.match(res.headers['content-type'], /^text\/event-stream/);
        assert.equal(res.text, rec.responseBody.toString('utf8'));
        const events = parseSse(res.text);
        assert.equal(events.filter((e) => e.name === 'content_block_delta').map((e) => e.json.delta.text).join(''), CANNED_TEXT);
        assert.equal(events.find((e) => e.name === 'message_delta').json.usage.output_tokens, MOCK_USAGE.output_tokens);
    });

    it('non-streaming goes to rawPredict; the Message relayed byte for byte', async () => {
        const relay = await relayWith([provider()]);
        vertex.reset();
        const sent = oddBody({ order: ['messages', 'model', 'max_tokens', 'metadata', 'system'] });
        const res = await postJson(relay.url, '/v1/messages', Buffer.from(sent.text));
        assert.equal(res.status, 200, ctx(res, relay));
        const [rec] = vertex.calls();
        assert.equal(rec.url, `${MODELS}/${MODEL}:rawPredict`);
        assertSplicedBody(rec.body.toString('utf8'), {
            kept: [sent.members.messages, sent.members.max_tokens, sent.members.metadata, sent.members.system],
            added: [VERSION],
        });
        assert.deepEqual(res.body, rec.responseBody);
    });

    it('count_tokens goes to count-tokens:rawPredict with the (mapped) model kept', async () => {
        const relay = await relayWith([provider()]);
        vertex.reset();
        const raw = '{"model":"claude-sonnet-4-5", "messages":[{"role":"user","content":"count ünï"}]}';
        const res = await postJson(relay.url, '/v1/messages/count_tokens', Buffer.from(raw));
        assert.equal(res.status, 200, ctx(res, relay));
        assert.deepEqual(res.json(), { input_tokens: MOCK_COUNT_TOKENS });
        const [rec] = vertex.calls();
        assert.equal(rec.url, `${MODELS}/count-tokens:rawPredict`);
        assertSplicedBody(rec.body.toString('utf8'), {
            kept: ['"messages":[{"role":"user","content":"count ünï"}]'],
            added: [VERSION, new RegExp(`"model"\\s*:\\s*"${MODEL}"`)],
        });
    });

    it('one token exchange serves many requests, concurrent ones included', async () => {
        const relay = await relayWith([provider()]);
        vertex.reset();
        const burst = await Promise.all(Array.from({ length: 4 }, (_, i) =>
            postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5', { stream: i % 2 === 0 }))));
        for (const r of burst) assert.equal(r.status, 200, ctx(r, relay));
        for (let i = 0; i < 4; i++) {
            const r = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
            assert.equal(r.status, 200, ctx(r, relay));
        }
        assert.equal(vertex.calls().length, 8);
        assert.equal(vertex.tokenExchanges, 1, 'eight requests, one exchange');
        assert.equal(new Set(vertex.calls().map((r) => r.headers.authorization)).size, 1);
    });

    it('a token about to expire is replaced before it is used again', async () => {
        const shortLived = await startVertex({ serviceAccount: sa, expiresIn: 2 });
        try {
            const file = path.join(dir, 'sa-short.json');
            await writeFile(file, JSON.stringify(sa.keyFile(shortLived.tokenUri)));
            const relay = await relayWith([provider({ name: 'vertex-short', base_url: shortLived.url, gcp_credentials_file: file })]);
            const first = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
            assert.equal(first.status, 200, ctx(first, relay));
            const issuedAt = Date.now();
            // The fake refuses a token once its expires_in has passed.
            await waitFor(() => Date.now() > issuedAt + 2100, { timeoutMs: 3000, what: 'the first token expired' });
            const second = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
            assert.equal(second.status, 200, ctx(second, relay));
            assert.ok(shortLived.tokenExchanges >= 2, `exchanges: ${shortLived.tokenExchanges}`);
            const calls = shortLived.calls();
            assert.notEqual(calls.at(-1).headers.authorization, calls[0].headers.authorization);
            assert.ok(calls.every((c) => c.responseStatus === 200), 'no call went out with an expired token');
        } finally {
            await shortLived.close();
        }
    });

    it('authorized_user credentials use the refresh-token grant', async () => {
        const file = path.join(dir, 'adc.json');
        await writeFile(file, JSON.stringify({ type: 'authorized_user', ...USER, token_uri: vertex.tokenUri }));
        const relay = await relayWith([provider({ name: 'vertex-adc', gcp_credentials_file: file })]);
        vertex.reset();
        for (let i = 0; i < 3; i++) {
            const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5', { stream: true }));
            assert.equal(res.status, 200, ctx(res, relay));
        }
        assert.equal(vertex.tokenExchanges, 1);
        assert.deepEqual(vertex.exchanges[0].form, { grant_type: 'refresh_token', ...USER });
        assertNotLogged(relay, [USER.client_secret, USER.refresh_token, vertex.exchanges[0].issued]);
    });

    for (const [label, status, body, anthropicStatus, type] of [
        ['429 RESOURCE_EXHAUSTED (array envelope)', 429,
            googleError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: anthropic-claude-sonnet-4-5.', { array: true }),
            429, 'rate_limit_error'],
        ['400 FAILED_PRECONDITION', 400,
            googleError(400, 'FAILED_PRECONDITION', 'Project `proj-1` is not allowed to use Publisher Model `projects/proj-1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929`'),
            400, 'invalid_request_error'],
    ]) {
        it(`Google's ${label} becomes HTTP ${anthropicStatus} ${type} with Google's message`, async () => {
            const relay = await relayWith([provider()]);
            const message = (Array.isArray(body) ? body[0] : body).error.message;
            for (const stream of [false, true]) {
                vertex.setMode((rec) => (rec.path === '/token' ? undefined : { kind: 'google-error', status, body }));
                const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5', { stream }));
                vertex.setMode(undefined);
                const got = assertRelayError(res, anthropicStatus, type, relay);
                assert.equal(got.error.message, message);
            }
        });
    }

    it('a 429 from Vertex fails over to the next provider', async () => {
        const backend = await startBackend();
        try {
            const relay = await relayWith([provider({ name: 'vertex-first' }),
                { name: 'second', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'sk-second' }] }]);
            vertex.reset();
            vertex.setMode((rec) => (rec.path === '/token' ? undefined
                : { kind: 'google-error', status: 429, body: googleError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded', { array: true }) }));
            const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
            vertex.setMode(undefined);
            assert.equal(res.status, 200, ctx(res, relay));
            assert.equal(res.json().content[0].text, CANNED_TEXT);
            assert.equal(vertex.calls().length, 1);
            assert.equal(backend.requests.length, 1);
            assert.equal(backend.requests[0].json.model, 'claude-sonnet-4-5');
        } finally {
            await backend.close();
        }
    });

    it('no secret reaches the log: private key, access tokens', () => {
        const tokens = vertex.issuedTokens();
        for (const r of relays) assertNotLogged(r, [privateKeyLine, USER.refresh_token, ...tokens]);
    });
});
