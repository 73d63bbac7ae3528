// The relay's own endpoints: /health, HEAD probes, unknown paths, /v1/models, /v1/providers.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { request } from '../lib/http.mjs';
import { assertRelayError, ctx } from '../lib/expect.mjs';
import { startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

describe('relay endpoints', { timeout: 30_000 }, () => {
    let backend;
    let relay;
    before(async () => {
        backend = await startBackend();
        relay = await startRelay({
            providers: [
                { name: 'primary', type: 'anthropic', enabled: true, base_url: backend.url,
                    models: ['claude-alpha-1', 'claude-beta-2'] },
                { name: 'glm', type: 'zai', enabled: true, base_url: backend.url,
                    keys: [{ key: 'sk-zai-1' }] }, // no models: the type's defaults
                { name: 'mm', type: 'minimax', enabled: true, base_url: backend.url,
                    keys: [{ key: 'sk-mm-1' }], models: ['claude-beta-2', 'minimax-only-3'] },
                { name: 'off', type: 'deepseek', enabled: false, base_url: backend.url,
                    keys: [{ key: 'sk-ds-1' }], models: ['disabled-only-model'] },
            ],
        });
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    it('GET /health answers 200 JSON with status ok and an X-Request-ID', async () => {
        const res = await request(relay.url + '/health');
        assert.equal(res.status, 200, ctx(res, relay));
        assert.match(String(res.headers['content-type']), /^application\/json\b/);
        assert.equal(res.json().status, 'ok');
        assert.ok(res.headers['x-request-id'], 'X-Request-ID on /health');
    });

    it('GET /health returns the client X-Request-ID', async () => {
        const res = await request(relay.url + '/health', { headers: { 'X-Request-ID': 'health-rid-42' } });
        assert.equal(res.status, 200);
        assert.equal(res.headers['x-request-id'], 'health-rid-42');
    });

    it('HEAD / answers 200', async () => {
        const res = await request(relay.url + '/', { method: 'HEAD' });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.ok(res.headers['x-request-id'], 'X-Request-ID on every response');
    });

    it('HEAD /api/hello answers 200', async () => {
        const res = await request(relay.url + '/api/hello', { method: 'HEAD' });
        assert.equal(res.status, 200, ctx(res, relay));
        assert.ok(res.headers['x-request-id'], 'X-Request-ID on every response');
    });

    it('an unknown path answers 404 not_found_error in Anthropic shape', async () => {
        const res = await request(relay.url + '/v1/no-such-endpoint');
        assertRelayError(res, 404, 'not_found_error', relay);
    });

    it('an unknown POST path answers 404 and is not forwarded', async () => {
        const before = backend.requests.length;
        const res = await request(relay.url + '/v1/complete', { method: 'POST', body: { model: 'x' } });
        assertRelayError(res, 404, 'not_found_error', relay);
        assert.equal(backend.requests.length, before, 'nothing reached the upstream');
    });

    it('GET /v1/models lists the models of enabled providers in Anthropic shape, without duplicates', async () => {
        const res = await request(relay.url + '/v1/models');
        assert.equal(res.status, 200, ctx(res, relay));
        assert.match(String(res.headers['content-type']), /^application\/json\b/);
        const body = res.json();
        assert.ok(Array.isArray(body.data), 'data is an array');
        for (const m of body.data) {
            assert.equal(m.type, 'model', `type of ${JSON.stringify(m)}`);
            assert.equal(typeof m.id, 'string');
            assert.equal(typeof m.display_name, 'string', `display_name of ${m.id}`);
            assert.equal(typeof m.created_at, 'string', `created_at of ${m.id}`);
            assert.ok(!Number.isNaN(Date.parse(m.created_at)), `created_at is a date: ${m.created_at}`);
        }
        const ids = body.data.map((m) => m.id);
        assert.equal(new Set(ids).size, ids.length, `no duplicate ids: ${ids}`);
        for (const want of ['claude-alpha-1', 'claude-beta-2', 'minimax-only-3']) {
            assert.ok(ids.includes(want), `${want} listed: ${ids}`);
        }
        assert.ok(!ids.includes('disabled-only-model'), 'disabled providers are excluded');
        assert.ok(ids.length > 3, `the zai provider without models contributes its type defaults: ${ids}`);
        assert.equal(body.has_more, false);
        assert.equal(body.first_id, ids[0]);
        assert.equal(body.last_id, ids.at(-1));
    });

    it('GET /v1/models accepts a query string', async () => {
        const res = await request(relay.url + '/v1/models?beta=true');
        assert.equal(res.status, 200, ctx(res, relay));
        assert.ok(Array.isArray(res.json().data));
    });

    it('GET /v1/providers lists enabled providers', async () => {
        const res = await request(relay.url + '/v1/providers');
        assert.equal(res.status, 200, ctx(res, relay));
        const body = res.json();
        assert.equal(body.object, 'list');
        assert.deepEqual(body.data.map((p) => p.name), ['primary', 'glm', 'mm']);
        for (const p of body.data) {
            for (const k of ['name', 'type', 'owner']) {
                assert.equal(typeof p[k], 'string', `${k} of ${JSON.stringify(p)}`);
            }
            assert.ok(Array.isArray(p.models), `models of ${p.name}`);
            assert.equal(p.active, true, `active of ${p.name}`);
            assert.ok(!('base_url' in p), 'where a provider lives is not shown');
        }
        const primary = body.data[0];
        assert.equal(primary.type, 'anthropic');
        assert.deepEqual(primary.models, ['claude-alpha-1', 'claude-beta-2']);
        assert.ok(body.data[1].models.length > 0, 'zai defaults listed');
    });
});
