// Prefork master (issue 3): every worker serves, the shared-memory counters add up exactly over
// the workers and survive reloads, and a port that is taken is refused with a clear error.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { request } from '../lib/http.mjs';
import {
    childPids, configText, currentWorkers, freePort, masterConfig, postMessage, runCli, statsJson,
    uniqueShmName, waitFor,
} from '../lib/process.mjs';
import { startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

/** Send `n` POST /v1/messages, each over a fresh connection, `parallel` at a time; all must be 200. */
async function sendFresh(url, n, parallel = 4) {
    let next = 0;
    const statuses = [];
    await Promise.all(Array.from({ length: parallel }, async () => {
        while (next < n) {
            next++;
            const r = await postMessage(url, { agent: false });
            statuses.push(r.status);
        }
    }));
    assert.deepEqual(statuses.filter((s) => s !== 200), [], 'every request answered 200');
    return statuses.length;
}

function describeStats(s) {
    return JSON.stringify({
        generation: s.generation,
        workers: s.workers.map((w) => ({ slot: w.slot, pid: w.pid, alive: w.alive, gen: w.generation, state: w.state, requests: w.requests })),
        totals: s.totals.requests,
        providers: s.providers.map((p) => ({ name: p.name, requests: p.requests, status: p.status })),
    });
}

describe('prefork master: workers and counters', { timeout: 60_000 }, () => {
    let backend;
    let relay;
    before(async () => {
        backend = await startBackend();
        relay = await startRelay(masterConfig(backend, { server: { workers: 2 } }));
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    const M = 80;

    it('forks the configured number of workers, each a child of the master', async () => {
        assert.match(relay.logs(), /listening on http:\/\/127\.0\.0\.1:\d+ with 2 worker\(s\)/);
        const s = await statsJson(relay);
        assert.equal(s.master_pid, relay.proc.pid);
        const live = currentWorkers(s);
        assert.equal(live.length, 2, describeStats(s));
        const kids = childPids(relay.proc.pid);
        for (const w of live) {
            assert.equal(w.state, 'ready');
            assert.ok(kids.includes(w.pid), `worker pid ${w.pid} is a child of the master (children: ${kids})`);
        }
    });

    it('the workers allocate with the allocator `cc-relay version` names (tcmalloc is linked, not dropped)', async () => {
        const v = await runCli(['version']);
        assert.equal(v.code, 0, v.stderr);
        const allocator = v.stdout.match(/^allocator (\S+)$/m)?.[1];
        assert.ok(['tcmalloc', 'system'].includes(allocator), v.stdout);
        for (const w of currentWorkers(await statsJson(relay))) {
            const mapped = /libtcmalloc/.test(readFileSync(`/proc/${w.pid}/maps`, 'utf8'));
            assert.equal(mapped, allocator === 'tcmalloc', `worker ${w.pid}: tcmalloc mapped ${mapped}, version says ${allocator}`);
        }
    });

    it('every worker serves: fresh connections spread over both workers (observed per worker in stats)', async () => {
        await sendFresh(relay.url, M);
        // Counters are bumped once the answer is written: poll until all M are in.
        const s = await waitFor(async () => {
            const st = await statsJson(relay);
            return st.totals.requests >= M ? st : null;
        }, { timeoutMs: 5000, what: `stats totals reach ${M}` });
        const live = currentWorkers(s);
        assert.equal(live.length, 2, describeStats(s));
        for (const w of live) {
            assert.ok(w.requests > 0, `worker slot ${w.slot} (pid ${w.pid}) served none of ${M}: ${describeStats(s)}`);
        }
        assert.equal(live.reduce((a, w) => a + w.requests, 0), M, `per-worker requests sum to M: ${describeStats(s)}`);
    });

    it('stats --json totals exactly M (health probes are not counted)', async () => {
        for (let i = 0; i < 5; i++) {
            const h = await request(relay.url + '/health');
            assert.equal(h.status, 200);
        }
        const s = await statsJson(relay);
        assert.equal(s.totals.requests, M, describeStats(s));
        assert.equal(s.totals.status['2xx'], M, describeStats(s));
        assert.equal(s.totals.in_flight, 0, describeStats(s));
        const mock = s.providers.find((p) => p.name === 'mock');
        assert.ok(mock, describeStats(s));
        assert.equal(mock.requests, M);
        assert.equal(mock.status['2xx'], M);
        assert.equal(backend.requests.length, M, 'the backend saw exactly M requests');
        // Tokens from the mock's usage block, summed over the workers.
        assert.equal(s.totals.tokens.input, M * 321);
        assert.equal(s.totals.tokens.output, M * 57);
    });

    it('counters survive reloads (including a generation that reuses the slots) and keep counting', async () => {
        const before = await statsJson(relay);
        for (let i = 0; i < 2; i++) {
            const r = await runCli(['reload', '--config', relay.configFile]);
            assert.equal(r.code, 0, `cc-relay reload: ${r.stdout}${r.stderr}\n${relay.logs().slice(-2000)}`);
            assert.match(r.stdout, new RegExp(`reloaded: generation ${before.generation + i + 1}`));
        }
        // The old generations drain and exit; the new one has two live workers.
        let s = await waitFor(async () => {
            const st = await statsJson(relay);
            return st.workers.filter((w) => w.alive).length === 2 ? st : null;
        }, { timeoutMs: 8000, what: 'old generations exited' });
        assert.equal(s.generation, before.generation + 2);
        assert.equal(currentWorkers(s).length, 2, describeStats(s));
        assert.equal(s.totals.requests, M, `totals after two reloads: ${describeStats(s)}`);
        assert.equal(s.providers.find((p) => p.name === 'mock').requests, M);

        const K = 40;
        await sendFresh(relay.url, K);
        s = await waitFor(async () => {
            const st = await statsJson(relay);
            return st.totals.requests >= M + K ? st : null;
        }, { timeoutMs: 5000, what: `stats totals reach ${M + K}` });
        assert.equal(s.totals.requests, M + K, describeStats(s));
        assert.equal(s.totals.status['2xx'], M + K, describeStats(s));
        for (const w of currentWorkers(s)) {
            assert.ok(w.requests > 0, `new-generation worker slot ${w.slot} served some of ${K}: ${describeStats(s)}`);
        }
    });
});

describe('prefork master: port already in use', { timeout: 30_000 }, () => {
    let backend;
    let dir;
    before(async () => {
        backend = await startBackend();
        dir = await mkdtemp(path.join(tmpdir(), 'cc-relay-port-'));
    });
    after(async () => {
        await backend?.close();
        await rm(dir, { recursive: true, force: true });
    });

    async function serveExpectingFailure(port) {
        const file = path.join(dir, `second-${port}.yaml`);
        await writeFile(file, configText(masterConfig(backend, {
            server: { listen: `127.0.0.1:${port}`, shm_name: uniqueShmName() },
        })));
        return runCli(['serve', '--config', file], { timeoutMs: 5000, resolveOnTimeout: true });
    }

    it('a port held by another program: exit 1 with an error naming the address', async () => {
        const srv = net.createServer();
        await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
        const port = srv.address().port;
        try {
            const r = await serveExpectingFailure(port);
            const out = r.stdout + r.stderr;
            assert.equal(r.code, 1, `exit ${r.code}\n${out}`);
            assert.ok(out.includes(`127.0.0.1:${port}`), `the error names the address:\n${out}`);
            assert.match(out, /in use/i);
        } finally {
            await new Promise((r) => srv.close(r));
        }
    });

    it('a second relay on the same fixed port: exit 1 with an error naming the address', async () => {
        const port = await freePort();
        const first = await startRelay(masterConfig(backend, { server: { listen: `127.0.0.1:${port}` } }));
        try {
            const r = await serveExpectingFailure(port);
            const out = r.stdout + r.stderr;
            assert.equal(r.code, 1,
                `a second cc-relay on 127.0.0.1:${port} must not start (SO_REUSEPORT would let it ` +
                `share the port with the first): exit ${r.code}${r.timedOut ? ' (still running after 5 s; stopped)' : ''}\n${out}`);
            assert.ok(out.includes(`127.0.0.1:${port}`), `the error names the address:\n${out}`);
            // The first one is unaffected.
            const h = await request(first.url + '/health');
            assert.equal(h.status, 200);
        } finally {
            await first.stop();
        }
    });
});

describe('prefork master: reload that changes the worker count or the address', { timeout: 60_000 }, () => {
    let backend;
    let relay;
    let config;
    before(async () => {
        backend = await startBackend();
        config = masterConfig(backend, { server: { workers: 2 } });
        relay = await startRelay(config);
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    async function reloadTo(over) {
        config = deepMergeLocal(config, over);
        await writeFile(relay.configFile, configText(config));
        const r = await runCli(['reload', '--config', relay.configFile]);
        assert.equal(r.code, 0, `cc-relay reload: ${r.stdout}${r.stderr}\n${relay.logs().slice(-2000)}`);
        return waitFor(async () => {
            const st = await statsJson(relay);
            return st.workers.filter((w) => w.alive).length === currentWorkers(st).length ? st : null;
        }, { timeoutMs: 8000, what: 'old generation exited' });
    }

    /** n requests over fresh connections to url, each answered within 3 s; per-worker counts after. */
    async function everyWorkerServes(url, n, expectWorkers) {
        const before = await statsJson(relay);
        const results = await Promise.all(Array.from({ length: n }, () =>
            postMessage(url, { agent: false, timeoutMs: 3000 }).then((r) => r.status, (err) => err.message)));
        const failed = results.filter((r) => r !== 200);
        const st = await waitFor(async () => {
            const x = await statsJson(relay);
            return x.totals.requests >= before.totals.requests + n - failed.length ? x : null;
        }, { timeoutMs: 5000, what: 'counters caught up' });
        const live = currentWorkers(st);
        assert.equal(failed.length, 0, `${failed.length} of ${n} requests failed (workers in slots ` +
            `${live.map((w) => w.slot)}); first: ${failed[0]}`);
        assert.equal(live.length, expectWorkers, describeStats(st));
        for (const w of live) assert.ok(w.requests > 0, `worker slot ${w.slot} served: ${describeStats(st)}`);
    }

    it('2 → 3 workers: three workers of the new generation, each serving', async () => {
        const st = await reloadTo({ server: { workers: 3 } });
        assert.equal(currentWorkers(st).length, 3, describeStats(st));
        await everyWorkerServes(relay.url, 90, 3);
    });

    it('3 → 2 workers: every request still answered, both workers serve', async () => {
        await reloadTo({ server: { workers: 2 } });
        await everyWorkerServes(relay.url, 60, 2);
    });

    it('a new server.listen: the new address serves, the old one is closed', async () => {
        const port = await freePort();
        const oldUrl = relay.url;
        await reloadTo({ server: { listen: `127.0.0.1:${port}` } });
        const newUrl = `http://127.0.0.1:${port}`;
        await everyWorkerServes(newUrl, 40, 2);
        const err = await postMessage(oldUrl, { agent: false, timeoutMs: 3000 }).then(
            (r) => `answered ${r.status}`, (e) => e.code ?? e.message);
        assert.equal(err, 'ECONNREFUSED', `the old address ${oldUrl} is closed`);
    });
});

function deepMergeLocal(base, over) {
    const out = JSON.parse(JSON.stringify(base));
    for (const [k, v] of Object.entries(over)) out[k] = { ...(out[k] ?? {}), ...v };
    return out;
}

/** A process's allowed CPUs, from /proc (Cpus_allowed_list: "0-3,6"). */
function allowedCpus(pid) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const list = status.match(/^Cpus_allowed_list:\s*(\S+)$/m)[1];
    return list.split(',').flatMap((part) => {
        const [a, b = a] = part.split('-').map(Number);
        return Array.from({ length: b - a + 1 }, (_, i) => a + i);
    });
}

describe('prefork master: server.cpu_affinity', { timeout: 60_000 }, () => {
    let backend;
    let relay;
    let config;
    before(async () => {
        backend = await startBackend();
        config = masterConfig(backend, { server: { workers: 3, cpu_affinity: true } });
        relay = await startRelay(config);
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    it('pins worker i to the i-th CPU the master may use (wrapping), and a reload that turns it off unpins', async () => {
        const cpus = allowedCpus(relay.proc.pid);
        const pinned = currentWorkers(await statsJson(relay)).map((w) => allowedCpus(w.pid));
        assert.equal(pinned.length, 3);
        for (const set of pinned) assert.equal(set.length, 1, `one CPU per worker: ${JSON.stringify(pinned)}`);
        const want = [0, 1, 2].map((i) => cpus[i % cpus.length]).sort();
        assert.deepEqual(pinned.map((s) => s[0]).sort(), want, `master may use ${cpus}`);
        await sendFresh(relay.url, 12);

        await writeFile(relay.configFile, configText({ ...config, server: { ...config.server, cpu_affinity: false } }));
        const r = await runCli(['reload', '--config', relay.configFile]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const gen = (await statsJson(relay)).generation;
        const fresh = await waitFor(async () => {
            const live = currentWorkers(await statsJson(relay));
            return live.length === 3 && live.every((w) => w.generation === gen) ? live : null;
        }, { timeoutMs: 10_000, what: 'the new generation' });
        for (const w of fresh) assert.deepEqual(allowedCpus(w.pid), cpus, `worker ${w.pid} unpinned`);
        await sendFresh(relay.url, 12);
    });
});
