// A `bedrock` provider, against the fake in tests/mocks/bedrock.mjs (which recomputes every
// SigV4 signature and refuses what Bedrock refuses): the URL and body InvokeModel gets, the
// signed headers, the event stream turned back into the same SSE bytes, Bedrock's errors and
// stream exceptions in Anthropic's shape, failover, CountTokens, the API-key variant, and no
// secret in the log. Wire facts: /work/shared/reference/anthropic-wire.md §5.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { CLEAN_ENV, SYSTEM_WITHOUT_BILLING, assertNotLogged, assertSplicedBody, oddBody } from '../lib/cloud.mjs';
import { assertRelayError, ctx } from '../lib/expect.mjs';
import { messagesBody, parseSse, postJson } from '../lib/http.mjs';
import { startRelay } from '../lib/relay.mjs';
import { CANNED_TEXT, MOCK_COUNT_TOKENS, MOCK_USAGE, startBackend } from '../mocks/backend.mjs';
import { SIGNATURE_MISMATCH, expectedSse, startBedrock } from '../mocks/bedrock.mjs';

const AWS = {
    accessKeyId: 'AKIDBEDROCKTEST00001',
    secretAccessKey: 'bedrockTestSecret/K7MDENG+bPxRfiCYzz9',
    sessionToken: 'IQoJb3JpZ2luX2VjEFAKEbedrockSessionToken77',
};
const BEARER = 'ABSKQmVkcm9ja0FQSUtleS1mYWtlLXRlc3Q=';
const MODEL_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const ARN = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123xyz';
const ARN_WIRE = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile%2Fabc123xyz';
const VERSION = /"anthropic_version"\s*:\s*"bedrock-2023-05-31"/;
const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

const relays = [];
async function relayWith(providers, extra = {}) {
    const relay = await startRelay({ server: { workers: 1 }, logging: { level: 'debug' }, providers, ...extra }, { env: CLEAN_ENV });
    relays.push(relay);
    return relay;
}

describe('bedrock provider', { timeout: 60_000 }, () => {
    let bedrock;
    let relay;
    const provider = (over = {}) => ({
        name: 'bedrock', type: 'bedrock', enabled: true, base_url: bedrock.url, aws_region: 'us-east-1',
        aws_access_key_id: AWS.accessKeyId, aws_secret_access_key: AWS.secretAccessKey, aws_session_token: AWS.sessionToken,
        model_mapping: { 'claude-sonnet-4-5': MODEL_ID, 'claude-arn': ARN }, ...over,
    });
    before(async () => {
        bedrock = await startBedrock(AWS);
        relay = await relayWith([provider()]);
    });
    after(async () => {
        for (const r of relays.splice(0)) await r.stop();
        await bedrock?.close();
    });
    const only = () => {
        assert.equal(bedrock.requests.length, 1, `one Bedrock call: ${bedrock.requests.map((r) => r.url).join(', ')}`);
        return bedrock.requests[0];
    };

    it('streams via invoke-with-response-stream, signed, with the InvokeModel body; the frames become the same SSE bytes', async () => {
        bedrock.reset();
        const sent = oddBody({ stream: true, billing: true });
        const res = await postJson(relay.url, '/v1/messages?beta=true', Buffer.from(sent.text), {
            headers: { 'anthropic-beta': 'claude-code-20250219, interleaved-thinking-2025-05-14,context-1m-2025-08-07' },
        });
        assert.equal(res.status, 200, ctx(res, relay));
        const rec = only();
        assert.equal(rec.url, `/model/${MODEL_ID}/invoke-with-response-stream`, 'model id with ":" as is, no ?beta=true');
        assert.equal(rec.authError, null, 'the fake accepted the signature it recomputed');
        // Signature header and the signed headers the relay promises.
        const auth = rec.headers.authorization;
        assert.match(auth, new RegExp(`^AWS4-HMAC-SHA256 Credential=${AWS.accessKeyId}/\\d{8}/us-east-1/bedrock/aws4_request, `));
        assert.match(auth, /SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/);
        assert.equal(rec.headers['x-amz-security-token'], AWS.sessionToken);
        assert.equal(rec.headers['x-amz-content-sha256'], sha256(rec.body));
        assert.match(rec.headers['content-type'], /^application\/json/);
        // Body: model and stream gone, version and filtered betas added, the billing block gone,
        // every other byte as the client sent it.
        const got = rec.body.toString('utf8');
        assertSplicedBody(got, {
            kept: [sent.members.max_tokens, sent.members.messages, sent.members.metadata],
            added: [VERSION, /"anthropic_beta"\s*:\s*\[[^\]]*\]/, SYSTEM_WITHOUT_BILLING],
        });
        assert.deepEqual(JSON.parse(got).anthropic_beta, ['interleaved-thinking-2025-05-14', 'context-1m-2025-08-07'],
            'split on ",", trimmed, claude-code-20250219 filtered out for Bedrock');
        // The answer: `event: <type>\ndata: <json>\n\n` for each chunk, byte for byte.
        assert.match(res.headers['content-type'], /^text\/event-stream/);
        assert.equal(rec.sent.length, 10);
        assert.equal(res.text, expectedSse(rec.sent));
        const events = parseSse(res.text);
        assert.equal(events.filter((e) => e.name === 'content_block_delta').map((e) => e.json.delta.text).join(''), CANNED_TEXT);
        assert.deepEqual(events.find((e) => e.name === 'message_delta').json.usage, {
            input_tokens: MOCK_USAGE.input_tokens, cache_creation_input_tokens: MOCK_USAGE.cache_creation_input_tokens,
            cache_read_input_tokens: MOCK_USAGE.cache_read_input_tokens, output_tokens: MOCK_USAGE.output_tokens,
        });
    });

    it('non-streaming goes to invoke ("stream": false removed too), the Message relayed byte for byte', async () => {
        bedrock.reset();
        const sent = oddBody({ stream: false, order: ['max_tokens', 'stream', 'messages', 'model', 'metadata', 'system'] });
        const res = await postJson(relay.url, '/v1/messages', Buffer.from(sent.text));
        assert.equal(res.status, 200, ctx(res, relay));
        const rec = only();
        assert.equal(rec.url, `/model/${MODEL_ID}/invoke`);
        assert.equal(rec.authError, null);
        assertSplicedBody(rec.body.toString('utf8'), {
            kept: [sent.members.max_tokens, sent.members.messages, sent.members.metadata, sent.members.system],
            added: [VERSION],
        });
        assert.equal(JSON.parse(rec.body).anthropic_beta, undefined, 'no anthropic-beta header, no anthropic_beta');
        assert.match(res.headers['content-type'], /^application\/json/);
        assert.deepEqual(res.body, rec.responseBody);
    });

    it('count_tokens goes to count-tokens with the InvokeModel body base64-wrapped; {"inputTokens"} becomes {"input_tokens"}', async () => {
        bedrock.reset();
        const raw = '{"model":"claude-sonnet-4-5", "messages":[{"role":"user","content":"count ünï"}],"system":"be brief"}';
        const res = await postJson(relay.url, '/v1/messages/count_tokens', Buffer.from(raw));
        assert.equal(res.status, 200, ctx(res, relay));
        assert.deepEqual(res.json(), { input_tokens: MOCK_COUNT_TOKENS });
        const rec = only();
        assert.equal(rec.url, `/model/${MODEL_ID}/count-tokens`);
        assert.equal(rec.authError, null);
        assert.deepEqual(Object.keys(rec.json), ['input']);
        assert.deepEqual(Object.keys(rec.json.input), ['invokeModel']);
        assert.deepEqual(Object.keys(rec.json.input.invokeModel), ['body']);
        const inner = rec.inner.toString('utf8');
        // The InvokeModel body of the same request: Bedrock insists on max_tokens there, so the
        // relay supplies one when count_tokens (which has none) is forwarded.
        assertSplicedBody(inner, {
            kept: ['"messages":[{"role":"user","content":"count ünï"}]', '"system":"be brief"'],
            added: [VERSION, /"max_tokens"\s*:\s*\d+/],
        });
    });

    it('an ARN model id goes out with "/" as %2F (":" kept) and is signed over %252F', async () => {
        bedrock.reset();
        const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-arn'));
        assert.equal(res.status, 200, ctx(res, relay));
        const rec = only();
        assert.equal(rec.url, `/model/${ARN_WIRE}/invoke`);
        assert.equal(rec.modelId, ARN);
        assert.equal(rec.authError, null);
    });

    it('an unmapped model is sent as the Bedrock model id itself', async () => {
        bedrock.reset();
        const res = await postJson(relay.url, '/v1/messages', messagesBody('anthropic.claude-3-5-haiku-20241022-v1:0'));
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(only().url, '/model/anthropic.claude-3-5-haiku-20241022-v1:0/invoke');
    });

    for (const [exception, type] of [
        ['throttlingException', 'rate_limit_error'],
        ['serviceUnavailableException', 'overloaded_error'],
        ['validationException', 'invalid_request_error'],
        ['internalServerException', 'api_error'],
    ]) {
        it(`a ${exception} mid-stream ends the SSE with an error event of type ${type}`, async () => {
            bedrock.reset();
            const message = `${exception}: fake says stop (ünï)`;
            bedrock.setMode({ kind: 'exception', after: 4, type: exception, message });
            const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5', { stream: true }));
            assert.equal(res.status, 200, ctx(res, relay));
            const rec = only();
            const before = expectedSse(rec.sent);
            assert.ok(res.text.startsWith(before), `the four chunks first, byte for byte:\n${res.text}`);
            const tail = parseSse(res.text.slice(before.length));
            assert.equal(tail.length, 1, res.text);
            assert.equal(tail[0].name, 'error');
            assert.deepEqual(tail[0].json, { type: 'error', error: { type, message } });
        });
    }

    it('a stream cut inside a frame ends with an api_error event', async () => {
        bedrock.reset();
        bedrock.setMode({ kind: 'truncate', after: 3 });
        const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5', { stream: true }));
        const rec = only();
        assert.ok(res.text.startsWith(expectedSse(rec.sent)), res.text);
        const last = parseSse(res.text).at(-1);
        assert.equal(last.name, 'error', res.text);
        assert.equal(last.json.error.type, 'api_error');
    });

    for (const [type, status, anthropicType] of [
        ['ValidationException', 400, 'invalid_request_error'],
        ['AccessDeniedException', 403, 'permission_error'],
        ['ThrottlingException', 429, 'rate_limit_error'],
        ['ServiceUnavailableException', 529, 'overloaded_error'],
    ]) {
        it(`${type} before the stream: HTTP ${status} ${anthropicType}, Bedrock's message verbatim`, async () => {
            for (const [stream, variant] of [[false, {}], [true, { typeSuffix: ':http://internal.amazon.com/coral/com.amazon.coral.service/' }]]) {
                bedrock.reset();
                const message = `${type}: the fake refuses "this" — ünï`;
                bedrock.setMode({ kind: 'error', type, message, ...variant });
                const res = await postJson(relay.url, '/v1/messages', messagesBody('claude-sonnet-4-5', { stream }));
                const body = assertRelayError(res, status, anthropicType, relay);
                assert.equal(body.error.message, message);
            }
        });
    }

    it('a wrong secret: the fake answers InvalidSignatureException, the client a 403 permission_error with its message', async () => {
        const r = await relayWith([provider({ name: 'bedrock-wrong', aws_secret_access_key: 'not-the-secret-key-000' })]);
        bedrock.reset();
        const res = await postJson(r.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
        const body = assertRelayError(res, 403, 'permission_error', r);
        assert.equal(body.error.message, SIGNATURE_MISMATCH);
        assert.equal(bedrock.requests[0].authError.type, 'InvalidSignatureException');
    });

    it('long-term keys without a session token: signed without x-amz-security-token', async () => {
        const plain = await startBedrock({ accessKeyId: AWS.accessKeyId, secretAccessKey: AWS.secretAccessKey });
        try {
            const r = await relayWith([provider({ name: 'bedrock-plain', base_url: plain.url, aws_session_token: undefined })]);
            const res = await postJson(r.url, '/v1/messages', messagesBody('claude-sonnet-4-5', { stream: true }));
            assert.equal(res.status, 200, ctx(res, r));
            const rec = plain.requests[0];
            assert.equal(rec.authError, null);
            assert.match(rec.headers.authorization, /SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, /);
            assert.equal(rec.headers['x-amz-security-token'], undefined);
            assert.equal(res.text, expectedSse(rec.sent));
        } finally {
            await plain.close();
        }
    });

    for (const [type, status] of [['ThrottlingException', 429], ['ServiceUnavailableException', 503]]) {
        it(`a ${status} from Bedrock fails over to the next provider`, async () => {
            const backend = await startBackend();
            try {
                const r = await relayWith([provider({ name: `bedrock-${status}` }),
                    { name: 'second', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'sk-second' }] }]);
                bedrock.reset();
                bedrock.setMode({ kind: 'error', type, message: 'slow down' });
                const res = await postJson(r.url, '/v1/messages', messagesBody('claude-sonnet-4-5'));
                assert.equal(res.status, 200, ctx(res, r));
                assert.equal(res.json().content[0].text, CANNED_TEXT);
                assert.equal(bedrock.requests.length, 1, 'Bedrock tried once');
                assert.equal(backend.requests.length, 1);
                assert.equal(backend.requests[0].json.model, 'claude-sonnet-4-5', "the second provider gets the client's model");
                assert.equal(backend.requests[0].json.anthropic_version, undefined, 'and not the Bedrock body');
            } finally {
                await backend.close();
            }
        });
    }

    it('with aws_bearer_token: Authorization: Bearer, no SigV4 headers', async () => {
        const keyed = await startBedrock({ bearer: BEARER });
        try {
            const r = await relayWith([{ name: 'bedrock-key', type: 'bedrock', enabled: true, base_url: keyed.url,
                aws_region: 'us-east-1', aws_bearer_token: BEARER, model_mapping: { 'claude-sonnet-4-5': MODEL_ID } }]);
            const res = await postJson(r.url, '/v1/messages', messagesBody('claude-sonnet-4-5', { stream: true }));
            assert.equal(res.status, 200, ctx(res, r));
            const rec = keyed.requests[0];
            assert.equal(rec.headers.authorization, `Bearer ${BEARER}`);
            assert.equal(rec.headers['x-amz-date'], undefined);
            assert.equal(rec.url, `/model/${MODEL_ID}/invoke-with-response-stream`);
            assert.equal(res.text, expectedSse(rec.sent));
            assertNotLogged(r, [BEARER]);
        } finally {
            await keyed.close();
        }
    });

    it('no secret reaches the log, at debug level, after successes and failures', () => {
        for (const r of relays) assertNotLogged(r, [AWS.secretAccessKey, AWS.sessionToken, 'not-the-secret-key-000']);
    });
});
