// Bedrock, Vertex AI and Foundry through the relay, against fakes that speak their wire formats
// (tests/mocks/cloud.mjs): the request each gets (path, body bytes, headers, signature or token),
// the answer the client gets (event stream decoded into SSE, errors in Anthropic's shape), token
// caching, failover, and secrets kept out of the logs.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ctx } from '../lib/expect.mjs';
import { messagesBody, parseSse, postJson } from '../lib/http.mjs';
import { startRelay } from '../lib/relay.mjs';
import { CANNED_TEXT, MOCK_COUNT_TOKENS, MOCK_USAGE, startBackend } from '../mocks/backend.mjs';
import { checkSigV4, chunkFrame, decodeFrames, makeServiceAccount, startBedrock, startFoundry, startGoogle }
    from '../mocks/cloud.mjs';

const AWS = {
    accessKeyId: 'AKIDRELAYTEST000001',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYRELAYSECRET',
    sessionToken: 'FwoGZXIvYXdzEFAKESESSIONTOKENrelaytest',
};
const BEDROCK_MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
// Environment variables that would override the config's credentials on a developer's machine.
const CLEAN_ENV = { AWS_BEARER_TOKEN_BEDROCK: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '', GOOGLE_APPLICATION_CREDENTIALS: '', AZURE_AUTHORITY_HOST: '' };
const BILLING = { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.37.0d9; cc_entrypoint=cli; cch=fa690;' };

function claudeCodeBody(extra = {}) {
    return messagesBody('claude-sonnet-4-5', {
        system: [BILLING, { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude." }],
        ...extra,
    });
}

const relays = [];
async function relayWith(providers, extra = {}) {
    const relay = await startRelay({ server: { workers: 1 }, providers, ...extra }, { env: CLEAN_ENV });
    relays.push(relay);
    return relay;
}

describe('bedrock', { timeout: 60_000 }, () => {
    let bedrock;
    let relay;
    const provider = (over = {}) => ({
        name: 'bedrock', type: 'bedrock', enabled: true, base_url: bedrock.url, aws_region: 'us-east-1',
        aws_access_key_id: AWS.accessKeyId, aws_secret_access_key: AWS.secretAccessKey, aws_session_token: AWS.sessionToken,
        model_mapping: { 'claude-sonnet-4-5': BEDROCK_MODEL }, ...over,
    });
    before(async () => {
        bedrock = await startBedrock(AWS);
        relay = await relayWith([provider()], { logging: { level: 'debug' } });
    });
    after(async () => {
        for (const r of relays.splice(0)) await r.stop();
        await bedrock?.close();
    });

    it('streams: a signed InvokeModelWithResponseStream, its frames decoded into the same SSE events', async () => {
        bedrock.reset();
        const res = await postJson(relay.url, '/v1/messages?beta=true', claudeCodeBody({ stream: true }), {
            headers: { 'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14', 'anthropic-version': '2023-06-01' },
        });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.match(res.headers['content-type'], /^text\/event-stream/);
        const rec = bedrock.requests[0];
        assert.equal(rec.path, `/model/${BEDROCK_MODEL}/invoke-with-response-stream`);
        assert.equal(checkSigV4(rec, { ...AWS, region: 'us-east-1' }), null, 'the fake recomputed the signature');
        // The body InvokeModel takes: no model/stream, the version and the (filtered) betas first,
        // the billing block gone, every other byte as the client sent it.
        const sent = claudeCodeBody({ stream: true });
        const expected = { anthropic_version: 'bedrock-2023-05-31', anthropic_beta: ['interleaved-thinking-2025-05-14'], ...sent };
        delete expected.model;
        delete expected.stream;
        expected.system = sent.system.slice(1);
        assert.deepEqual(rec.json, expected);
        assert.equal(rec.headers['anthropic-beta'], 'interleaved-thinking-2025-05-14', 'claude-code-20250219 is not for Bedrock');
        // Byte for byte: each chunk's event as `event: <type>\ndata: <json>\n\n`.
        const got = res.body.toString('utf8');
        assert.equal(got, rec.sent.map((j) => `event: ${JSON.parse(j).type}\ndata: ${j}\n\n`).join(''));
        const events = parseSse(got);
        assert.equal(events.filter((e) => e.name === 'content_block_delta').map((e) => JSON.parse(e.data).delta.text).join(''),
            CANNED_TEXT);
        const usage = JSON.parse(events.find((e) => e.name === 'message_delta').data).usage;
        assert.equal(usage.output_tokens, MOCK_USAGE.output_tokens);
    });

    it('non-streaming: InvokeModel, the Message relayed as it came', async () => {
        bedrock.reset();
        const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5', { max_tokens: 64 }));
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(bedrock.requests[0].path, `/model/${BEDROCK_MODEL}/invoke`);
        const msg = JSON.parse(res.body);
        assert.equal(msg.content[0].text, CANNED_TEXT);
        assert.equal(bedrock.requests[0].json.model, undefined);
        assert.equal(bedrock.requests[0].json.anthropic_version, 'bedrock-2023-05-31');
    });

    it('count_tokens goes to CountTokens with the InvokeModel body base64-wrapped; the answer in Anthropic terms', async () => {
        bedrock.reset();
        const res = await postJson(relay.url, '/v1/messages/count_tokens', { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.deepEqual(JSON.parse(res.body), { input_tokens: MOCK_COUNT_TOKENS });
        assert.equal(bedrock.requests[0].path, `/model/${BEDROCK_MODEL}/count-tokens`);
        assert.deepEqual(bedrock.requests[0].inner, { anthropic_version: 'bedrock-2023-05-31', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] });
    });

    it('an exception in the stream ends it with an Anthropic error event', async () => {
        bedrock.reset();
        bedrock.setMode(() => ({ kind: 'exception', after: 3, type: 'throttlingException', message: 'Too many tokens, please wait before trying again.' }));
        const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5', { stream: true }));
        bedrock.setMode(undefined);
        assert.equal(res.status, 200);
        const events = parseSse(res.body.toString('utf8'));
        assert.equal(events.length, 4, res.body.toString());
        assert.equal(events.at(-1).name, 'error');
        assert.deepEqual(JSON.parse(events.at(-1).data), { type: 'error', error: { type: 'rate_limit_error', message: 'Too many tokens, please wait before trying again.' } });
    });

    it('a stream cut mid-frame ends with an api_error event', async () => {
        bedrock.setMode(() => ({ kind: 'truncate', after: 2 }));
        const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5', { stream: true }));
        bedrock.setMode(undefined);
        const events = parseSse(res.body.toString('utf8'));
        assert.equal(events.at(-1).name, 'error', res.body.toString());
        assert.equal(JSON.parse(events.at(-1).data).error.type, 'api_error');
    });

    it("errors before the stream are Anthropic-shaped, with Bedrock's message", async () => {
        for (const [type, status, anthropicType] of [
            ['ValidationException', 400, 'invalid_request_error'],
            ['AccessDeniedException', 403, 'permission_error'],
            ['ThrottlingException', 429, 'rate_limit_error'],
            ['ServiceUnavailableException', 529, 'overloaded_error'],
        ]) {
            bedrock.setMode(() => ({ kind: 'error', type, message: `${type}: the fake says no` }));
            const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
            assert.equal(res.status, status, `${type}: ${ctx(res, relay)}`);
            const body = JSON.parse(res.body);
            assert.equal(body.type, 'error');
            assert.deepEqual(body.error, { type: anthropicType, message: `${type}: the fake says no` });
            assert.equal(body.request_id, res.headers['x-request-id']);
        }
        bedrock.setMode(undefined);
    });

    it('a signature Bedrock refuses is a 403 permission_error (wrong secret)', async () => {
        const r = await relayWith([provider({ name: 'wrong', aws_secret_access_key: 'not-the-secret' })]);
        const res = await postJson(r.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
        assert.equal(res.status, 403, ctx(res, r));
        assert.match(JSON.parse(res.body).error.message, /signature we calculated does not match/);
    });

    it('a throttled Bedrock fails over to the next provider', async () => {
        const backend = await startBackend();
        try {
            const r = await relayWith([provider(), { name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'k' }] }]);
            bedrock.setMode(() => ({ kind: 'error', type: 'ThrottlingException', message: 'slow down' }));
            const res = await postJson(r.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
            bedrock.setMode(undefined);
            assert.equal(res.status, 200, ctx(res, r));
            assert.equal(JSON.parse(res.body).content[0].text, CANNED_TEXT);
            assert.equal(backend.requests.length, 1);
        } finally {
            await backend.close();
        }
    });

    it('a Bedrock API key is sent as a bearer token instead of a signature', async () => {
        const keyed = await startBedrock({ bearer: 'bedrock-api-key-xyz' });
        try {
            const r = await relayWith([provider({ base_url: keyed.url, aws_access_key_id: '', aws_secret_access_key: '',
                aws_session_token: '', aws_bearer_token: 'bedrock-api-key-xyz' })]);
            const res = await postJson(r.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
            assert.equal(res.status, 200, ctx(res, r));
            assert.equal(keyed.requests[0].headers['x-amz-date'], undefined);
        } finally {
            await keyed.close();
        }
    });

    it('no secret reaches the log, even at debug level', () => {
        const logs = relay.logs();
        assert.ok(logs.length > 0);
        for (const secret of [AWS.secretAccessKey, AWS.sessionToken]) assert.ok(!logs.includes(secret), `${secret} in the log`);
    });

    it('the fake decodes what it encodes (self-check)', () => {
        const frames = decodeFrames(Buffer.concat([chunkFrame('{"type":"ping"}'), chunkFrame('{"type":"message_stop"}')]));
        assert.equal(frames.length, 2);
        assert.equal(frames[0].headers[':event-type'], 'chunk');
        assert.equal(Buffer.from(JSON.parse(frames[1].payload).bytes, 'base64').toString(), '{"type":"message_stop"}');
    });
});

describe('vertex', { timeout: 60_000 }, () => {
    let google;
    let dir;
    let keyFile;
    let sa;
    before(async () => {
        dir = await mkdtemp(path.join(tmpdir(), 'cc-relay-vertex-'));
        sa = makeServiceAccount('');
        google = await startGoogle({ publicKey: sa.publicKey, clientEmail: sa.key.client_email, expiresIn: 3600,
            authorizedUser: { client_id: 'cid', client_secret: 'csecret-xyz', refresh_token: 'rt-secret-xyz' } });
        sa.key.token_uri = `${google.url}/token`;
        keyFile = path.join(dir, 'sa.json');
        await writeFile(keyFile, JSON.stringify(sa.key));
    });
    after(async () => {
        for (const r of relays.splice(0)) await r.stop();
        await google?.close();
        await rm(dir, { recursive: true, force: true });
    });
    const provider = (over = {}) => ({
        name: 'vertex', type: 'vertex', enabled: true, base_url: google.url, gcp_project_id: 'proj-1',
        gcp_region: 'us-east5', gcp_credentials_file: keyFile,
        model_mapping: { 'claude-sonnet-4-5': 'claude-sonnet-4-5@20250929' }, ...over,
    });

    it('streams through streamRawPredict with a token from the service-account JWT, fetched once', async () => {
        google.reset();
        const relay = await relayWith([provider()], { logging: { level: 'debug' } });
        const before = google.tokensIssued;
        for (let i = 0; i < 3; i++) {
            const res = await postJson(relay.url, '/v1/messages?beta=true', claudeCodeBody({ stream: true }),
                { headers: { 'anthropic-beta': 'oauth-2025-04-20,context-1m-2025-08-07' } });
            assert.equal(res.status, 200, ctx(res, relay));
            const events = parseSse(res.body.toString());
            assert.equal(events.filter((e) => e.name === 'content_block_delta').map((e) => JSON.parse(e.data).delta.text).join(''), CANNED_TEXT);
        }
        assert.equal(google.tokensIssued - before, 1, 'one token exchange for three requests');
        const rec = google.requests.filter((r) => r.path !== '/token')[0];
        assert.equal(rec.path, '/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict');
        const sent = claudeCodeBody({ stream: true });
        const expected = { anthropic_version: 'vertex-2023-10-16', ...sent, system: sent.system.slice(1) };
        delete expected.model;
        assert.deepEqual(rec.json, expected, 'model removed, stream kept, version added, billing block gone');
        assert.equal(rec.headers['anthropic-beta'], 'context-1m-2025-08-07', 'betas stay a header, filtered');
        const logs = relay.logs();
        assert.ok(!logs.includes('ya29.fake-'), 'the access token is not logged');
        assert.ok(!logs.includes(sa.key.private_key.split('\n')[1]), 'the private key is not logged');
    });

    it('rawPredict for non-streaming, count-tokens:rawPredict keeps the model', async () => {
        google.reset();
        const relay = await relayWith([provider()]);
        const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(JSON.parse(res.body).content[0].text, CANNED_TEXT);
        const count = await postJson(relay.url, '/v1/messages/count_tokens', { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] });
        assert.equal(count.status, 200, ctx(count, relay));
        assert.deepEqual(JSON.parse(count.body), { input_tokens: MOCK_COUNT_TOKENS });
        const calls = google.requests.filter((r) => r.path !== '/token');
        assert.match(calls[0].path, /models\/claude-sonnet-4-5@20250929:rawPredict$/);
        assert.match(calls[1].path, /models\/count-tokens:rawPredict$/);
        assert.equal(calls[1].json.model, 'claude-sonnet-4-5@20250929');
        assert.equal(calls[1].json.anthropic_version, 'vertex-2023-10-16');
    });

    it("Google's error envelopes become Anthropic's", async () => {
        const relay = await relayWith([provider()]);
        for (const [status, body, anthropicStatus, type] of [
            [429, [{ error: { code: 429, message: 'Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model', status: 'RESOURCE_EXHAUSTED' } }], 429, 'rate_limit_error'],
            [400, { error: { code: 400, message: 'Project proj-1 is not allowed to use Publisher Model', status: 'FAILED_PRECONDITION' } }, 400, 'invalid_request_error'],
        ]) {
            google.setMode((rec) => (rec.path === '/token' ? undefined : { kind: 'google-error', status, body }));
            const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
            assert.equal(res.status, anthropicStatus, ctx(res, relay));
            const got = JSON.parse(res.body);
            assert.equal(got.error.type, type);
            assert.equal(got.error.message, (Array.isArray(body) ? body[0] : body).error.message);
        }
        google.setMode(undefined);
    });

    it('authorized_user credentials use the refresh-token grant', async () => {
        const file = path.join(dir, 'adc.json');
        await writeFile(file, JSON.stringify({ type: 'authorized_user', client_id: 'cid', client_secret: 'csecret-xyz',
            refresh_token: 'rt-secret-xyz', token_uri: `${google.url}/token` }));
        google.reset();
        const relay = await relayWith([provider({ gcp_credentials_file: file })]);
        const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(new URLSearchParams(google.requests[0].body.toString()).get('grant_type'), 'refresh_token');
        assert.ok(!relay.logs().includes('rt-secret-xyz'));
    });

    it('a token that expires is refreshed', async () => {
        const shortLived = await startGoogle({ publicKey: sa.publicKey, clientEmail: sa.key.client_email, expiresIn: 1 });
        const file = path.join(dir, 'sa-short.json');
        await writeFile(file, JSON.stringify({ ...sa.key, token_uri: `${shortLived.url}/token` }));
        try {
            const relay = await relayWith([provider({ base_url: shortLived.url, gcp_credentials_file: file })]);
            for (let i = 0; i < 2; i++) {
                const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
                assert.equal(res.status, 200, ctx(res, relay));
                if (i === 0) await new Promise((r) => setTimeout(r, 1200));
            }
            assert.equal(shortLived.tokensIssued, 2);
        } finally {
            await shortLived.close();
        }
    });
});

describe('foundry', { timeout: 60_000 }, () => {
    let foundry;
    after(async () => {
        for (const r of relays.splice(0)) await r.stop();
        await foundry?.close();
    });

    it('with a key: /anthropic/v1/messages, x-api-key and api-key, the body unchanged', async () => {
        foundry = await startFoundry({ key: 'az-key-123' });
        const relay = await relayWith([{ name: 'foundry', type: 'foundry', enabled: true, base_url: `${foundry.url}/anthropic`,
            keys: [{ key: 'az-key-123' }] }]);
        const body = messagesBody('claude-sonnet-4-5', { stream: true });
        const res = await postJson(relay.url, '/v1/messages', body);
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(parseSse(res.body.toString()).filter((e) => e.name === 'content_block_delta')
            .map((e) => JSON.parse(e.data).delta.text).join(''), CANNED_TEXT);
        const rec = foundry.requests[0];
        assert.equal(rec.path, '/anthropic/v1/messages');
        assert.equal(rec.headers['x-api-key'], 'az-key-123');
        assert.equal(rec.headers['api-key'], 'az-key-123');
        assert.equal(rec.body.toString(), JSON.stringify(body));
        await foundry.close();
        foundry = undefined;
    });

    it('with Entra ID: one client-credentials token for many requests, sent as a bearer', async () => {
        foundry = await startFoundry({ tenant: 'tenant-9', clientId: 'app-1', clientSecret: 'entra-secret-xyz' });
        const relay = await relayWith([{ name: 'foundry', type: 'azure', enabled: true, base_url: `${foundry.url}/anthropic`,
            azure_tenant_id: 'tenant-9', azure_client_id: 'app-1', azure_client_secret: 'entra-secret-xyz',
            azure_authority_host: foundry.url }], { logging: { level: 'debug' } });
        for (let i = 0; i < 3; i++) {
            const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
            assert.equal(res.status, 200, ctx(res, relay));
        }
        assert.equal(foundry.tokensIssued, 1);
        const calls = foundry.requests.filter((r) => r.path === '/anthropic/v1/messages');
        assert.equal(calls.length, 3);
        assert.equal(calls[0].headers.authorization, 'Bearer eyJ.fake-entra-1');
        assert.equal(calls[0].headers['x-api-key'], undefined);
        assert.ok(!relay.logs().includes('entra-secret-xyz'));
        assert.ok(!relay.logs().includes('eyJ.fake-entra-1'));
    });

    it('an Entra ID token endpoint that refuses fails the request with a 502 naming the provider, not the secret', async () => {
        const relay = await relayWith([{ name: 'foundry-bad', type: 'azure', enabled: true, base_url: `${foundry.url}/anthropic`,
            azure_tenant_id: 'tenant-9', azure_client_id: 'app-1', azure_client_secret: 'wrong-secret-xyz',
            azure_authority_host: foundry.url }]);
        const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
        assert.equal(res.status, 502, ctx(res, relay));
        const msg = JSON.parse(res.body).error.message;
        assert.match(msg, /foundry-bad/);
        assert.ok(!msg.includes('wrong-secret-xyz'));
    });
});
