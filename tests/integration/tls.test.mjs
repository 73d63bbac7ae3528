// TLS to the upstream: an https mock with a certificate from a test CA works when the provider's
// ca_file names that CA, and fails with 502 when only the system store is used.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { messagesBody, parseSse, postJson } from '../lib/http.mjs';
import { assertRelayError, ctx } from '../lib/expect.mjs';
import { mockProvider, startRelay } from '../lib/relay.mjs';
import { makeCerts } from '../mocks/certs.mjs';
import { CANNED_TEXT, startBackend } from '../mocks/backend.mjs';

describe('TLS upstream', { timeout: 40_000 }, () => {
    let certs;
    let backend;
    before(async () => {
        certs = await makeCerts();
        backend = await startBackend({ tls: { key: certs.key, cert: certs.cert } });
    });
    beforeEach(() => backend.reset());
    after(async () => {
        await backend?.close();
        await certs?.cleanup();
    });

    it('the mock really speaks TLS with the test CA (self-check)', async () => {
        const res = await fetch(backend.url + '/v1/models').catch((e) => e);
        assert.ok(res instanceof Error, 'an untrusted certificate is refused by Node');
        assert.equal(res.cause?.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', String(res.cause ?? res));
    });

    it('relays over https when ca_file names the test CA', async (t) => {
        const relay = await startRelay({ providers: [mockProvider(backend, { ca_file: certs.caFile })] });
        t.after(() => relay.stop());
        const res = await postJson(relay.url, '/v1/messages', messagesBody());
        assert.equal(res.status, 200, ctx(res, relay));
        assert.equal(backend.requests.length, 1);
        assert.ok(res.body.equals(backend.requests[0].responseBody));
        const s = await postJson(relay.url, '/v1/messages', messagesBody(undefined, { stream: true }));
        assert.equal(s.status, 200, ctx(s, relay));
        const text = parseSse(s.text).filter((e) => e.name === 'content_block_delta')
            .map((e) => e.json.delta.text).join('');
        assert.equal(text, CANNED_TEXT);
    });

    it('answers 502 when the upstream certificate is not trusted (system store only)', async (t) => {
        const relay = await startRelay({ providers: [mockProvider(backend)] });
        t.after(() => relay.stop());
        const res = await postJson(relay.url, '/v1/messages', messagesBody(), { timeoutMs: 10_000 });
        assertRelayError(res, 502, 'api_error', relay);
        assert.equal(backend.requests.length, 0, 'no request got through the failed handshake');
    });
});
