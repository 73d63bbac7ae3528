// POST /v1/messages, non-streaming: byte-for-byte relay, query strings, X-Request-ID, access log.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';

import { messagesBody, postJson, waitFor } from '../lib/http.mjs';
import { assertRelayError, ctx } from '../lib/expect.mjs';
import { relayOverMock } from '../lib/relay.mjs';
import { mockModel } from '../mocks/backend.mjs';

describe('POST /v1/messages (non-streaming)', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    relayOverMock((b, r) => { backend = b; relay = r; });

    it('relays the upstream status, Content-Type and body bytes unchanged', async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(backend.requests.length, 1);
        const rec = backend.requests[0];
        assert.equal(rec.method, 'POST');
        assert.equal(rec.path, '/v1/messages');
        assert.match(String(res.headers['content-type']), /^application\/json\b/);
        assert.ok(res.body.length > 900, `a ~1 KiB answer (${res.body.length} bytes)`);
        assert.ok(res.body.equals(rec.responseBody), 'client body bytes equal upstream body bytes');
    });

    it('forwards the request body byte for byte when no mapping applies', async () => {
        const raw = '{"model":"claude-unmapped" ,\n\t"max_tokens": 16, "messages":[{"role":"user",' +
            '"content":"héllo 🚀 \\u00e9 \\"quoted\\""}],  "metadata":{"user_id":"u-1"} }';
        const res = await postJson(relay.url, '/v1/messages', Buffer.from(raw));
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(backend.requests[0].body.toString('utf8'), raw);
    });

    it('passes the query string to the upstream unchanged', async () => {
        const res = await postJson(relay.url, '/v1/messages?beta=true&x=%2Fa%20b', messagesBody());
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(backend.requests[0].url, '/v1/messages?beta=true&x=%2Fa%20b');
    });

    it('sends the client X-Request-ID upstream and returns it', async () => {
        const rid = 'client-rid-' + randomUUID();
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), { headers: { 'X-Request-ID': rid } });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(res.headers['x-request-id'], rid);
        assert.equal(backend.requests[0].headers['x-request-id'], rid);
    });

    it('generates an X-Request-ID when the client sends none, and the upstream sees the same one', async () => {
        const res = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(res.status, 200, ctx(res, relay));
        const rid = res.headers['x-request-id'];
        assert.ok(rid && rid.length >= 8, `generated X-Request-ID: ${rid}`);
        assert.equal(backend.requests[0].headers['x-request-id'], rid);
        const res2 = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.notEqual(res2.headers['x-request-id'], rid, 'a fresh id per request');
    });

    it('returns the X-Request-ID on relay-made errors, in the header and in the body', async () => {
        const rid = 'err-rid-' + randomUUID();
        const res = await postJson(relay.url, '/v1/messages', Buffer.from('{not json'),
            { headers: { 'X-Request-ID': rid } });
        const body = assertRelayError(res, 400, 'invalid_request_error', relay);
        assert.equal(body.request_id, rid);
    });

    it('returns the X-Request-ID on relayed upstream errors', async () => {
        const rid = 'up-err-rid-' + randomUUID();
        const res = await postJson(relay.url, '/v1/messages', messagesBody(mockModel('error', { status: 500 })),
            { headers: { 'X-Request-ID': rid } });
        assert.equal(res.status, 500, ctx(res, relay));
        assert.equal(res.headers['x-request-id'], rid);
    });

    it('writes one access log line with the request id, provider name and status', async () => {
        const rid = 'access-log-' + randomUUID();
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), { headers: { 'X-Request-ID': rid } });
        assert.equal(res.status, 200, ctx(res, relay));
        const linesWith = () => relay.logs().split('\n').filter((l) => l.includes(rid));
        const isAccess = (l) => /\bmock\b/.test(l) && /\b200\b/.test(l);
        await waitFor(() => linesWith().some(isAccess), { timeoutMs: 5000, what: `access line for ${rid}` })
            .catch(() => {});
        const lines = linesWith();
        const access = lines.filter(isAccess);
        assert.equal(access.length, 1,
            `exactly one access line with provider "mock" and status 200; lines with the id:\n${lines.join('\n')}`);
    });

    it('logs the upstream status of a failed request', async () => {
        const rid = 'access-log-529-' + randomUUID();
        const res = await postJson(relay.url, '/v1/messages', messagesBody(mockModel('error', { status: 529 })),
            { headers: { 'X-Request-ID': rid } });
        assert.equal(res.status, 529, ctx(res, relay));
        const linesWith = () => relay.logs().split('\n').filter((l) => l.includes(rid));
        await waitFor(() => linesWith().some((l) => /\b529\b/.test(l)), { timeoutMs: 5000 }).catch(() => {});
        const lines = linesWith();
        assert.ok(lines.some((l) => /\b529\b/.test(l) && /\bmock\b/.test(l)),
            `an access line with status 529 and provider "mock"; lines with the id:\n${lines.join('\n')}`);
    });

    for (const [what, send, status] of [
        ['a relay-made 404', (rid) => postJson(relay.url, '/v1/nowhere', {}, { headers: { 'X-Request-ID': rid } }), 404],
        ['a relay-made 400', (rid) => postJson(relay.url, '/v1/messages', Buffer.from('{'), { headers: { 'X-Request-ID': rid } }), 400],
    ]) {
        it(`writes an access log line for ${what}`, async () => {
            const rid = 'access-log-err-' + randomUUID();
            const res = await send(rid);
            assert.equal(res.status, status, ctx(res, relay));
            const re = new RegExp(`${rid}.*\\b${status}\\b|\\b${status}\\b.*${rid}`);
            await relay.waitForLog(re, 5000);
        });
    }
});
