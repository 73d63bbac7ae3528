// The official TypeScript SDK (0.x, which Claude Code embeds, and 1.x) through the relay to the
// mock: non-streaming create, streaming via messages.stream(), count_tokens, and errors.
// Note: SDK 1.x sends its API key as "Authorization: Bearer <key>" (not x-api-key) and
// anthropic-version 2026-10-21; the relay takes its server.auth.api_key in either header, as
// Anthropic's API does, so the config is the one a user writes: api_key alone.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import AnthropicV0 from '@anthropic-ai/sdk';
import AnthropicV1 from 'anthropic-sdk-v1';

import { startRelay } from '../lib/relay.mjs';
import { CANNED_TEXT, MOCK_COUNT_TOKENS, MOCK_USAGE, mockModel, startBackend } from '../mocks/backend.mjs';

const PROXY_KEY = 'sk-relay-client-e2e';
const UPSTREAM_KEY = 'sk-upstream-e2e';
const MODEL = 'claude-e2e-model';

function assertUsage(usage) {
    assert.equal(usage.input_tokens, MOCK_USAGE.input_tokens);
    assert.equal(usage.output_tokens, MOCK_USAGE.output_tokens);
    assert.equal(usage.cache_read_input_tokens, MOCK_USAGE.cache_read_input_tokens);
    assert.equal(usage.cache_creation_input_tokens, MOCK_USAGE.cache_creation_input_tokens);
}

// betaQuery: what the SDK itself puts on beta calls (0.x: ?beta=true; 1.x: none).
for (const [label, Anthropic, betaQuery] of [['sdk 0.x', AnthropicV0, 'beta=true'], ['sdk 1.x', AnthropicV1, '']]) {
    describe(`@anthropic-ai/${label} through cc-relay`, { timeout: 60_000 }, () => {
        let backend;
        let relay;
        let client;
        before(async () => {
            backend = await startBackend();
            relay = await startRelay({
                // SDK 0.x sends the key as x-api-key, SDK 1.x as Authorization: Bearer.
                server: { auth: { api_key: PROXY_KEY } },
                providers: [{ name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url,
                    keys: [{ key: UPSTREAM_KEY }] }],
            });
            client = new Anthropic({ baseURL: relay.url, apiKey: PROXY_KEY, maxRetries: 0, timeout: 20_000 });
        });
        beforeEach(() => backend.reset());
        after(async () => {
            await relay?.stop();
            await backend?.close();
        });

        it('messages.create returns the canned text and usage', async () => {
            const msg = await client.messages.create({
                model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'say hi' }],
            });
            assert.equal(msg.type, 'message');
            assert.equal(msg.content[0].text, CANNED_TEXT);
            assertUsage(msg.usage);
            assert.equal(backend.requests.length, 1);
            assert.equal(backend.requests[0].headers['x-api-key'], UPSTREAM_KEY);
            assert.match(String(backend.requests[0].headers['anthropic-version']), /^\d{4}-\d{2}-\d{2}$/,
                'the client anthropic-version reaches the upstream');
            assert.equal(backend.requests[0].headers.authorization, undefined, 'the proxy key stays in the proxy');
        });

        it('messages.stream yields the canned text, final message and usage', async () => {
            const stream = client.messages.stream({
                model: mockModel('sse', { events: 8, delay: 20 }),
                max_tokens: 64,
                messages: [{ role: 'user', content: 'say hi' }],
            });
            let streamed = '';
            stream.on('text', (t) => { streamed += t; });
            const final = await stream.finalMessage();
            assert.equal(streamed, CANNED_TEXT);
            assert.equal(final.content[0].text, CANNED_TEXT);
            assert.equal(final.stop_reason, 'end_turn');
            assertUsage(final.usage);
            assert.equal(backend.requests[0].json.stream, true);
        });

        it('beta messages.create works and its query string reaches the upstream', async () => {
            const msg = await client.beta.messages.create({
                model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'say hi' }],
                betas: ['interleaved-thinking-2025-05-14'],
            });
            assert.equal(msg.content[0].text, CANNED_TEXT);
            assert.equal(backend.requests[0].path, '/v1/messages');
            assert.equal(backend.requests[0].query, betaQuery);
            assert.equal(backend.requests[0].headers['anthropic-beta'], 'interleaved-thinking-2025-05-14');
        });

        it('messages.countTokens returns the upstream count', async () => {
            const r = await client.messages.countTokens({
                model: MODEL, messages: [{ role: 'user', content: 'count me' }],
            });
            assert.equal(r.input_tokens, MOCK_COUNT_TOKENS);
        });

        it('an upstream 400 surfaces as BadRequestError with the upstream message', async () => {
            await assert.rejects(
                client.messages.create({
                    model: mockModel('error', { status: 400 }), max_tokens: 16,
                    messages: [{ role: 'user', content: 'x' }],
                }),
                (err) => {
                    assert.equal(err.status, 400);
                    assert.match(err.message, /prompt is too long/);
                    return true;
                });
        });

        it('a wrong proxy key surfaces as AuthenticationError', async () => {
            const bad = new Anthropic({ baseURL: relay.url, apiKey: 'wrong', maxRetries: 0 });
            await assert.rejects(
                bad.messages.create({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: 'x' }] }),
                (err) => {
                    assert.equal(err.status, 401);
                    assert.equal(err.error?.error?.type, 'authentication_error');
                    return true;
                });
            assert.equal(backend.requests.length, 0);
        });
    });
}
