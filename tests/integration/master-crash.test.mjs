// Prefork master (issue 3): a worker killed with SIGKILL under load is respawned and the load goes
// on; repeated crashes of a slot back off (100 ms, doubling), logged and counted in stats.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
    childPids, currentWorkers, masterConfig, pidAlive, startLoad, statsJson, waitFor, withDeadline,
} from '../lib/process.mjs';
import { startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

/** Wait until `slot` has a live, ready worker whose pid is not `oldPid`; returns that worker. */
async function waitRespawned(relay, slot, oldPid, timeoutMs = 5000) {
    return waitFor(async () => {
        const s = await statsJson(relay);
        const w = s.workers.find((x) => x.slot === slot);
        return w && w.pid !== oldPid && w.pid > 0 && w.alive && w.state === 'ready' ? { w, s } : null;
    }, { timeoutMs, what: `slot ${slot} respawned (old pid ${oldPid})\n${relay.logs().slice(-2000)}` });
}

describe('prefork master: kill -9 of a worker under load', { timeout: 60_000 }, () => {
    let backend;
    let relay;
    before(async () => {
        backend = await startBackend();
        // Each answer takes ~30 ms upstream, so the victim has requests in flight when it dies.
        backend.setMode({ kind: 'json', firstByteDelay: 30 });
        relay = await startRelay(masterConfig(backend, { server: { workers: 2 } }));
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    it('the killed worker is respawned and the load goes on; failures bounded by what was in flight', async (t) => {
        const concurrency = 6;
        // Fresh connections, so both workers carry load.
        const load = startLoad(relay.url, { concurrency, keepAlive: false, durationMs: 30_000 });
        try {
            await load.until((r) => r.ok >= 40, 10_000, 'load warmed up');
            const s0 = await statsJson(relay);
            const victim = currentWorkers(s0).find((w) => w.requests > 0);
            assert.ok(victim, `a worker that served: ${JSON.stringify(s0.workers)}`);
            const okBefore = load.results.ok;
            const failedBefore = load.results.failed;
            assert.equal(failedBefore, 0, `no failure before the kill: ${JSON.stringify(load.results.errors)}`);
            const inFlightAtKill = load.results.inFlight;
            process.kill(victim.pid, 'SIGKILL');

            const { w: respawned, s: s1 } = await waitRespawned(relay, victim.slot, victim.pid);
            const respawnedAt = Date.now();
            assert.ok(!pidAlive(victim.pid), `old worker ${victim.pid} is gone`);
            assert.ok(childPids(relay.proc.pid).includes(respawned.pid),
                `new worker ${respawned.pid} is a child of the master (${childPids(relay.proc.pid)})`);
            assert.equal(respawned.generation, s1.generation, 'respawned into the current generation');
            assert.equal(respawned.restarts, 1, JSON.stringify(respawned));
            assert.match(relay.logs(), new RegExp(`worker ${victim.slot} \\(pid ${victim.pid}\\) killed by signal 9; respawning in 100 ms`));
            assert.equal(currentWorkers(s1).length, 2, JSON.stringify(s1.workers));

            // The load goes on: many more successes after the respawn, and the new worker serves.
            const okAtRespawn = load.results.ok;
            await load.until((r) => r.ok >= okAtRespawn + 60, 15_000, 'load continues after respawn');
            const s2 = await waitFor(async () => {
                const st = await statsJson(relay);
                const w = st.workers.find((x) => x.pid === respawned.pid);
                return w && w.requests > 0 ? st : null;
            }, { timeoutMs: 10_000, what: `respawned worker ${respawned.pid} serves` });
            assert.ok(s2.totals.requests > 0);

            const res = await load.stop();
            t.diagnostic(`ok ${res.ok}, failed ${res.failed}, in flight at the kill ${inFlightAtKill}`);
            assert.ok(res.ok > okBefore + 60, `successes ${res.ok}`);
            assert.ok(res.failed <= inFlightAtKill,
                `failed ${res.failed} > ${inFlightAtKill} requests in flight at the kill: ` +
                JSON.stringify(res.errors.slice(0, 10)));
            // Every failure belongs to the kill: none of the requests started after the respawn failed.
            const late = res.log.filter((e) => !e.ok && e.start >= respawnedAt);
            assert.deepEqual(late, [], 'no request begun after the respawn failed');
        } finally {
            await load.stop();
        }
    });

    it('repeated crashes of a slot back off: 100, 200, 400 ms, counted in the worker table', async () => {
        const s0 = await statsJson(relay);
        // A slot that has not crashed yet (the first test killed one), so its streak starts at 1.
        let w = currentWorkers(s0).find((x) => x.restarts === 0);
        assert.ok(w, JSON.stringify(s0.workers));
        const slot = w.slot;
        const restarts0 = w.restarts;
        const delays = [];
        for (let i = 0; i < 3; i++) {
            const pid = w.pid;
            const t0 = Date.now();
            process.kill(pid, 'SIGKILL');
            ({ w } = await waitRespawned(relay, slot, pid, 8000));
            delays.push(Date.now() - t0);
            const expected = 100 * 2 ** i;
            assert.match(relay.logs(), new RegExp(`worker ${slot} \\(pid ${pid}\\) killed by signal 9; respawning in ${expected} ms`),
                `crash ${i + 1} backs off ${expected} ms\n${relay.logs().slice(-1500)}`);
        }
        assert.equal(w.restarts, restarts0 + 3, JSON.stringify(w));
        // The back-off is real: the third respawn took at least its 400 ms.
        assert.ok(delays[2] >= 400, `respawn delays ${delays}`);
        // And the respawned worker serves.
        const load = startLoad(relay.url, { concurrency: 4, keepAlive: false, maxRequests: 40 });
        const res = await withDeadline(load.done, 15_000, '40 requests');
        assert.equal(res.failed, 0, JSON.stringify(res.errors));
    });
});
