// providers[].model_mapping: the upstream body equals the client body byte for byte except the
// top-level "model" string. Nested "model" keys, whitespace, key order and unicode stay as sent.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { postJson } from '../lib/http.mjs';
import { ctx } from '../lib/expect.mjs';
import { mockProvider, relayOverMock } from '../lib/relay.mjs';

// The top-level "model" is neither first nor last; "model" keys and the model name also appear
// inside messages and metadata, where they must not change.
function oddBody(model, { stream = false } = {}) {
    return '{ "messages" : [ {"role":"user","content":[{"type":"text",' +
        '"text":"model: claude-x \\"model\\":\\"claude-x\\" ünïcödé 漢字 🚀 \\u00e9"}],' +
        ' "model": "claude-x"} ],\n\t"max_tokens":16 ,\r\n' +
        `  "model"  :   ${JSON.stringify(model)}  ,  "metadata": {"model":"claude-x","user_id":"u"},` +
        ` "stream": ${stream},\n "system" : [ {"type":"text","text":"x-anthropic-billing-header: cc=1;"} ] }`;
}

describe('model_mapping', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; }, (backend) => ({
        providers: [mockProvider(backend, {
            model_mapping: {
                'claude-x': 'mapped-y',
                'claude-ünï-1': 'mapped-ü-漢字',
                'claude-short': 'a-much-longer-mapped-model-name-20250101',
            },
        })],
    }));

    async function check(from, to, opts) {
        const sent = oddBody(from, opts);
        const res = await postJson(relay.url, '/v1/messages', Buffer.from(sent));
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(backend.requests.length, 1);
        const got = backend.requests[0].body.toString('utf8');
        assert.equal(got, oddBody(to, opts), 'only the top-level model string differs');
        assert.equal(JSON.parse(got).model, to);
    }

    it('replaces only the top-level model, keeping every other byte', () => check('claude-x', 'mapped-y'));

    it('maps a non-ASCII model name to a non-ASCII target', () => check('claude-ünï-1', 'mapped-ü-漢字'));

    it('maps to a longer name (the body grows, Content-Length follows)', async () => {
        await check('claude-short', 'a-much-longer-mapped-model-name-20250101');
        const rec = backend.requests[0];
        assert.equal(Number(rec.headers['content-length'] ?? rec.body.length), rec.body.length);
    });

    it('leaves an unmapped model and the whole body untouched', () => check('claude-other', 'claude-other'));

    it('maps the model of a streaming request too', () => check('claude-x', 'mapped-y', { stream: true }));

    it('does not map a model that only has a mapped name as a prefix', () => check('claude-x-2', 'claude-x-2'));

    // Not spelled out in the contract, but the same body rule applies: the upstream must see the
    // model name it serves, or it answers 404 for the client's alias.
    it('maps the model of a count_tokens request forwarded upstream', async () => {
        const raw = '{"messages":[{"role":"user","content":"hi"}], "model" : "claude-x"}';
        const res = await postJson(relay.url, '/v1/messages/count_tokens', Buffer.from(raw));
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(backend.requests.length, 1);
        assert.equal(backend.requests[0].body.toString('utf8'),
            '{"messages":[{"role":"user","content":"hi"}], "model" : "mapped-y"}');
    });
});
