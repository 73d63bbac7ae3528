// The worker table in the stats segment is kept by the workers themselves (issue 7): `ready` once
// listening, a heartbeat about once a second for as long as the worker lives, `served` once it has
// answered a request, `draining` when it drains. Read through `cc-relay stats --json`.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { masterConfig, postMessage, statsJson, waitFor } from '../lib/process.mjs';
import { startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

describe('worker table: ready, heartbeat, served', { timeout: 60_000 }, () => {
    let backend;
    before(async () => { backend = await startBackend(); });
    after(async () => { await backend?.close(); });

    it('served turns true with the first answered request; the heartbeat keeps beating', async (t) => {
        const relay = await startRelay(masterConfig(backend, { server: { workers: 1 } }));
        t.after(() => relay.stop());
        const s0 = await statsJson(relay);
        assert.equal(s0.workers.length, 1, JSON.stringify(s0.workers));
        assert.equal(s0.workers[0].state, 'ready');
        assert.equal(s0.workers[0].served, false, 'nothing answered yet');

        assert.equal((await postMessage(relay.url)).status, 200);
        const s1 = await statsJson(relay);
        assert.equal(s1.workers[0].served, true, JSON.stringify(s1.workers[0]));

        // A worker that has lived for 2.5 s and beat within the last 1.5 s beats on a timer, not once.
        const w = await waitFor(async () => {
            const s = await statsJson(relay);
            const x = s.workers[0];
            return Date.now() - x.started_unix_ms >= 2500 ? x : null;
        }, { timeoutMs: 10_000, intervalMs: 200, what: 'a worker 2.5 s old' });
        assert.ok(w.heartbeat_age_ms >= 0 && w.heartbeat_age_ms < 1500, JSON.stringify(w));
    });
});
