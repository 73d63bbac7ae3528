// Prefork master (issue 3), systemd notification without systemd: a test $NOTIFY_SOCKET receives
// READY=1 once the workers are up, RELOADING=1 / READY=1 around a reload, and STOPPING=1 — all from
// the master's own pid (the unit says NotifyAccess=main). A socket nobody reads (its queue full)
// must not stall the master: notifications are dropped, supervision and reloads go on.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
    currentWorkers, masterConfig, postMessage, rewriteConfig, runCli, startNotifyListener, statsJson,
    waitFor, waitForExit,
} from '../lib/process.mjs';
import { startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

describe('prefork master: $NOTIFY_SOCKET', { timeout: 60_000 }, () => {
    let backend;
    before(async () => { backend = await startBackend(); });
    after(async () => { await backend?.close(); });

    for (const abstract of [false, true]) {
        it(`READY, RELOADING/READY, STOPPING on ${abstract ? 'an abstract socket (@name)' : 'a socket path'}`, async (t) => {
            const notify = await startNotifyListener({ abstract });
            t.after(() => notify.close());
            const config = masterConfig(backend, { server: { workers: 2, drain_timeout_ms: 3000 } });
            const relay = await startRelay(config, { env: { NOTIFY_SOCKET: notify.path } });
            t.after(() => relay.stop());
            const master = relay.proc.pid;

            // READY=1 once the workers are up (the listening line is logged just before).
            const ready = await notify.waitFor('READY=1', 5000);
            assert.equal(ready, 0, `READY=1 is the first message: ${JSON.stringify(notify.messages)}`);
            const r0 = await postMessage(relay.url);
            assert.equal(r0.status, 200, 'serving once READY=1 was sent');

            // A reload: RELOADING=1, then READY=1.
            const rl = await runCli(['reload', '--config', relay.configFile]);
            assert.equal(rl.code, 0, rl.stdout + rl.stderr);
            const reloading = await notify.waitFor('RELOADING=1', 5000, ready + 1);
            const readyAgain = await notify.waitFor('READY=1', 5000, reloading + 1);
            assert.equal(readyAgain, reloading + 1);

            // A rejected reload still ends its RELOADING=1 with READY=1 (the old generation serves on).
            await rewriteConfig(relay, 'server: [unclosed\n');
            process.kill(master, 'SIGHUP');
            const reloading2 = await notify.waitFor('RELOADING=1', 5000, readyAgain + 1);
            await notify.waitFor('READY=1', 5000, reloading2 + 1);
            await rewriteConfig(relay, config);

            // SIGTERM: STOPPING=1, then a clean exit.
            process.kill(master, 'SIGTERM');
            const stopping = await notify.waitFor('STOPPING=1', 5000, reloading2 + 2);
            const exit = await waitForExit(relay, 8000);
            assert.equal(exit.code, 0, JSON.stringify(exit));

            assert.deepEqual(notify.messages,
                ['READY=1', 'RELOADING=1', 'READY=1', 'RELOADING=1', 'READY=1', 'STOPPING=1'],
                'the whole sequence, nothing else (no worker notifies)');
            assert.equal(stopping, 5);
            assert.deepEqual(notify.senders, notify.messages.map(() => master),
                `every message comes from the master pid ${master}`);
        });
    }

    it('a socket that is never read does not stall the master: reloads and respawns go on', async (t) => {
        const notify = await startNotifyListener({ read: false });
        t.after(() => notify.close());
        const config = masterConfig(backend, { server: { workers: 2, drain_timeout_ms: 3000 } });
        const relay = await startRelay(config, { env: { NOTIFY_SOCKET: notify.path } });
        t.after(() => relay.stop());

        // READY=1 plus two messages a reload: the kernel's queue (10 datagrams) fills at the fifth.
        for (let i = 0; i < 7; i++) {
            const rl = await runCli(['reload', '--config', relay.configFile], { timeoutMs: 10_000 });
            assert.equal(rl.code, 0, `reload ${i + 1}: ${rl.stdout}${rl.stderr}\n${relay.logs().slice(-2000)}`);
        }
        assert.match(relay.logs(), /sd_notify: \S+ dropped/, 'the dropped notifications are logged');

        // Supervision goes on: a killed worker is respawned.
        const before = await statsJson(relay);
        const victim = currentWorkers(before)[0];
        process.kill(victim.pid, 'SIGKILL');
        await waitFor(async () => {
            const s = await statsJson(relay);
            const w = currentWorkers(s).find((x) => x.slot === victim.slot && x.pid !== victim.pid);
            return w && w.state === 'ready' ? w : null;
        }, { timeoutMs: 10_000, what: `slot ${victim.slot} respawned` });
        assert.equal((await postMessage(relay.url)).status, 200);

        process.kill(relay.proc.pid, 'SIGTERM');
        const exit = await waitForExit(relay, 8000);
        assert.equal(exit.code, 0, JSON.stringify(exit));
    });
});
