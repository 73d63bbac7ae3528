// Self-check of the mock backend's wire format, without the relay: the real SDKs and the real
// Claude Code CLI talk to it directly. If these fail, the mock is wrong, not the relay.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import AnthropicV0 from '@anthropic-ai/sdk';
import AnthropicV1 from 'anthropic-sdk-v1';

import { describeRun, runClaude } from '../lib/claude.mjs';
import { CANNED_TEXT, MOCK_COUNT_TOKENS, MOCK_USAGE, mockModel, startBackend } from '../mocks/backend.mjs';
import { makeCerts } from '../mocks/certs.mjs';

describe('mock backend self-check (no relay)', { timeout: 180_000 }, () => {
    let backend;
    before(async () => { backend = await startBackend(); });
    beforeEach(() => backend.reset());
    after(async () => { await backend?.close(); });

    for (const [label, Anthropic] of [['0.x', AnthropicV0], ['1.x', AnthropicV1]]) {
        it(`SDK ${label}: create, stream and countTokens parse the mock's answers`, async () => {
            const client = new Anthropic({ baseURL: backend.url, apiKey: 'sk-direct', maxRetries: 0 });
            const msg = await client.messages.create({
                model: 'claude-direct', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }],
            });
            assert.equal(msg.content[0].text, CANNED_TEXT);
            assert.equal(msg.usage.cache_read_input_tokens, MOCK_USAGE.cache_read_input_tokens);
            const final = await client.messages.stream({
                model: mockModel('sse', { events: 6, delay: 5 }), max_tokens: 16,
                messages: [{ role: 'user', content: 'hi' }],
            }).finalMessage();
            assert.equal(final.content[0].text, CANNED_TEXT);
            assert.equal(final.usage.output_tokens, MOCK_USAGE.output_tokens);
            assert.equal(final.usage.input_tokens, MOCK_USAGE.input_tokens);
            const count = await client.messages.countTokens({
                model: 'claude-direct', messages: [{ role: 'user', content: 'hi' }],
            });
            assert.equal(count.input_tokens, MOCK_COUNT_TOKENS);
            await assert.rejects(client.messages.create({
                model: mockModel('error', { status: 529 }), max_tokens: 16, messages: [{ role: 'user', content: 'hi' }],
            }), (err) => err.status === 529 && err.error?.error?.type === 'overloaded_error');
        });
    }

    it('the https variant serves with a certificate from the test CA', async () => {
        const certs = await makeCerts();
        const tlsBackend = await startBackend({ tls: { key: certs.key, cert: certs.cert } });
        try {
            const https = await import('node:https');
            const status = await new Promise((resolve, reject) => {
                const req = https.request(tlsBackend.url + '/v1/messages', {
                    method: 'POST', ca: certs.caPem, headers: { 'content-type': 'application/json' },
                }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
                req.on('error', reject);
                req.end(JSON.stringify({ model: 'x', max_tokens: 1, messages: [] }));
            });
            assert.equal(status, 200);
        } finally {
            await tlsBackend.close();
            await certs.cleanup();
        }
    });

    it('claude -p prints the canned answer when pointed straight at the mock', async () => {
        const run = await runClaude({ baseUrl: backend.url, env: { ANTHROPIC_API_KEY: 'sk-direct' } });
        const why = describeRun(run) +
            `\n--- requests ---\n${backend.requests.map((r) => `${r.method} ${r.url}`).join('\n')}`;
        assert.equal(run.code, 0, why);
        assert.ok(run.stdout.includes(CANNED_TEXT), why);
        assert.ok(backend.requests.some((r) => r.path === '/v1/messages'), why);
    });
});
