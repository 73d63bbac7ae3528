// Prefork master (issue 3), hot reload: SIGHUP forks a new generation on the same sockets and the
// old one drains. 20 reloads under keep-alive load fail no request; a stream that began before a
// reload completes byte-identical after it; an invalid config leaves the old generation serving and
// `cc-relay reload` exits 1 with the error text.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { request } from '../lib/http.mjs';
import {
    configText, currentWorkers, freePort, masterConfig, openStream, pidAlive, postMessage, rewriteConfig,
    runCli, startLoad, statsJson, waitFor, withDeadline,
} from '../lib/process.mjs';
import { startRelay } from '../lib/relay.mjs';
import { mockModel, startBackend } from '../mocks/backend.mjs';

async function reload(relay) {
    const r = await runCli(['reload', '--config', relay.configFile], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, `cc-relay reload exit ${r.code}: ${r.stdout}${r.stderr}\n--- relay log ---\n${relay.logs().slice(-3000)}`);
    const m = r.stdout.match(/^reloaded: generation (\d+)$/m);
    assert.ok(m, `reload output: ${r.stdout}`);
    return Number(m[1]);
}

/** The mock's record of the request whose model is `model`. */
function upstreamOf(backend, model) {
    return backend.requests.find((r) => r.json?.model === model);
}

describe('prefork master: reload under load', { timeout: 90_000 }, () => {
    let backend;
    let relay;
    before(async () => {
        backend = await startBackend();
        relay = await startRelay(masterConfig(backend, { server: { workers: 2, drain_timeout_ms: 3000 } }));
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    it('20 reloads while keep-alive clients and streams run: zero failed requests, streams byte-identical', async (t) => {
        const startGen = (await statsJson(relay)).generation;
        const load = startLoad(relay.url, { concurrency: 6, keepAlive: true, durationMs: 60_000 });
        const loadStart = Date.now();
        const reloadsAt = [];
        // Two clients streaming back to back (each stream ~0.5 s), so reloads land mid-stream.
        let streaming = true;
        const streams = [];
        const streamLoop = async (id) => {
            for (let i = 0; streaming; i++) {
                const model = mockModel('sse', { events: 6, delay: 45, tag: `${id}-${i}` });
                const s = openStream(relay.url, model, { timeoutMs: 15_000 });
                const r = await s.result.catch((err) => ({ status: 0, aborted: true, error: err.message }));
                streams.push({ model, ...r });
            }
        };
        const streamLoops = [streamLoop('a'), streamLoop('b')];
        let gen = startGen;
        try {
            await load.until((r) => r.ok >= 30, 10_000, 'load warmed up');
            for (let i = 0; i < 20; i++) {
                const okBefore = load.results.ok;
                reloadsAt.push(Date.now() - loadStart);
                const next = await reload(relay);
                assert.equal(next, gen + 1, `reload ${i + 1}: generation`);
                gen = next;
                // Let the new generation carry some load before the next reload.
                await load.until((r) => r.ok >= okBefore + 15 || r.failed > 0, 10_000, `load after reload ${i + 1}`);
            }
        } finally {
            streaming = false;
            await load.stop();
            await withDeadline(Promise.all(streamLoops), 20_000, 'stream clients finish');
        }
        const res = load.results;
        t.diagnostic(`requests ok ${res.ok}, failed ${res.failed}, answered with Connection: close ${res.connectionClose}; ` +
            `streams ${streams.length}`);
        assert.equal(res.failed, 0, `failed requests during reloads: ${JSON.stringify(res.errors.slice(0, 10))}` +
            `\nreloads began at (ms into the load): ${reloadsAt.join(' ')}` +
            `\n--- relay log (tail) ---\n${relay.logs().slice(-3000)}`);
        assert.ok(res.ok >= 30 + 20 * 15, `ok ${res.ok}`);
        // The keep-alive connections really moved: draining workers closed them after an answer.
        assert.ok(res.connectionClose > 0, 'some answers carried Connection: close from draining workers');

        assert.ok(streams.length >= 4, `streams ${streams.length}`);
        for (const s of streams) {
            assert.equal(s.status, 200, `stream ${s.model}: ${JSON.stringify({ ...s, body: undefined })}`);
            assert.ok(s.complete && !s.aborted, `stream ${s.model} cut: ${s.error ?? ''}`);
            const up = upstreamOf(backend, s.model);
            assert.ok(up, `upstream request for ${s.model}`);
            assert.ok(s.body.equals(up.responseBody), `stream ${s.model} byte-identical to what the backend sent`);
        }

        // The old generations drain away; the current one has its two workers; counters add up.
        const st = await waitFor(async () => {
            const x = await statsJson(relay);
            return x.workers.filter((w) => w.alive).length === 2 ? x : null;
        }, { timeoutMs: 10_000, what: 'old generations exited' });
        assert.equal(st.generation, startGen + 20);
        assert.equal(currentWorkers(st).length, 2);
        const upstreamCount = backend.requests.length;
        const total = await waitFor(async () => {
            const x = await statsJson(relay);
            return x.totals.requests === upstreamCount ? x : null;
        }, { timeoutMs: 5000, what: `stats totals equal the ${upstreamCount} upstream requests` }).catch(async (err) => {
            const x = await statsJson(relay);
            throw new Error(`${err.message}: totals ${x.totals.requests}`);
        });
        assert.equal(total.totals.requests, res.ok + streams.length);
    });

    it('a stream that began before a reload completes byte-identical after it', async () => {
        const model = mockModel('sse', { events: 12, delay: 100, tag: 'across-reload' });
        const s = openStream(relay.url, model, { timeoutMs: 15_000 });
        await s.firstByte;
        const genBefore = (await statsJson(relay)).generation;
        const gen = await reload(relay);
        assert.equal(gen, genBefore + 1);
        // The reload is done while the stream still runs (about 1.7 s in all).
        const up = upstreamOf(backend, model);
        assert.ok(up && !up.finished, 'the stream is still in progress after the reload');
        const r = await s.result;
        assert.equal(r.status, 200);
        assert.ok(r.complete && !r.aborted, `stream cut by the reload: ${r.error ?? ''}\n${relay.logs().slice(-2000)}`);
        await withDeadline(up.closed, 5000, 'upstream response closed');
        assert.ok(up.finished && !up.clientClosedEarly, 'the relay read the whole upstream stream');
        assert.ok(r.body.equals(up.responseBody), 'byte-identical to what the backend sent');
        assert.match(r.body.toString(), /event: message_stop/);
    });
});

// A worker that accepted a connection just before its drain began (the accept's completion and the
// retire signal in one turn of its event loop) serves that connection's request, with Connection:
// close. Ending the worker there, or dropping the socket, resets a connection whose request the
// client has sent, and no client retries a POST after that. To make the two arrive together the
// test stops the worker (SIGSTOP), lets a connection queue with its request, sends the retire
// signal itself and lets the worker run on.
describe('prefork master: connections accepted as the drain begins', { timeout: 60_000 }, () => {
    let backend;
    let relay;
    before(async () => {
        backend = await startBackend();
        relay = await startRelay(masterConfig(backend, { server: { workers: 1 } }));
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    it('are answered with Connection: close, not reset', async () => {
        for (let round = 0; round < 3; round++) {
            const worker = await waitFor(async () => {
                const w = currentWorkers(await statsJson(relay)).find((x) => x.alive && x.state === 'ready');
                return w ?? null;
            }, { timeoutMs: 10_000, what: `a running worker (round ${round})` });
            process.kill(worker.pid, 'SIGSTOP');
            let answers;
            try {
                // Several, so that after the first the worker's accepts complete at once, queued
                // behind the signal's delivery in the same turn of its event loop.
                answers = Array.from({ length: 6 }, () =>
                    postMessage(relay.url, { timeoutMs: 10_000 }).catch((err) => ({ error: err.message })));
                // The handshakes complete in the kernel; give the requests time to be written.
                await new Promise((r) => setTimeout(r, 150));
                process.kill(worker.pid, 'SIGUSR2');  // worker::kRetireSignal
            } finally {
                process.kill(worker.pid, 'SIGCONT');
            }
            for (const [i, r] of (await Promise.all(answers)).entries()) {
                assert.equal(r.error, undefined, `round ${round}, request ${i}: ${r.error}\n${relay.logs().slice(-2000)}`);
                assert.equal(r.status, 200, `round ${round}, request ${i}: status`);
            }
            // The drained worker exits; the master starts another in its place.
            await waitFor(() => !pidAlive(worker.pid), { timeoutMs: 10_000, what: `worker ${worker.pid} exits` });
        }
    });
});

describe('prefork master: reloads while an old worker still drains a stream', { timeout: 60_000 }, () => {
    let backend;
    let relay;
    before(async () => {
        backend = await startBackend();
        relay = await startRelay(masterConfig(backend, { server: { workers: 2, drain_timeout_ms: 10_000 } }));
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    // Two reloads while the worker in slot 1 of generation 1 is held by a stream: generation 2
    // takes slots 2 and 3, generation 3 the free slots 0 and 4. Each listening socket must still
    // have one accepting worker of the current generation (the sockets are one per worker index,
    // not per slot number), or the connections the kernel hashes to the orphaned socket hang.
    it('every listening socket keeps an accepting worker: fresh connections are all answered', async (t) => {
        let held;
        let heldModel;
        for (let attempt = 0; attempt < 30 && !held; attempt++) {
            const model = mockModel('sse', { events: 30, delay: 100, tag: `held-${attempt}` });
            const s = openStream(relay.url, model, { timeoutMs: 20_000 });
            await s.firstByte;
            const st = await statsJson(relay);
            const busy = st.workers.find((w) => w.alive && w.in_flight > 0);
            assert.ok(busy, `a worker has the stream in flight: ${JSON.stringify(st.workers)}`);
            if (busy.slot === 1) {
                held = s;
                heldModel = model;
            } else {
                s.abort();
                await s.result;
                await waitFor(async () => (await statsJson(relay)).workers.every((w) => w.in_flight === 0),
                    { timeoutMs: 5000, what: 'aborted stream released' });
            }
        }
        assert.ok(held, 'a stream landed on the worker in slot 1');
        const g1 = await reload(relay);
        await waitFor(async () => {
            const st = await statsJson(relay);
            return st.workers.find((w) => w.slot === 0)?.alive === false;
        }, { timeoutMs: 5000, what: 'the idle generation-1 worker (slot 0) exited' });
        const g2 = await reload(relay);
        assert.equal(g2, g1 + 1);
        const st = await statsJson(relay);
        const slots = currentWorkers(st).map((w) => w.slot);
        t.diagnostic(`generation ${g2} runs in slots ${slots}; alive: ` +
            JSON.stringify(st.workers.filter((w) => w.alive).map((w) => [w.slot, w.generation, w.state])));

        const results = await Promise.all(Array.from({ length: 40 }, () =>
            postMessage(relay.url, { agent: false, timeoutMs: 3000 }).then((r) => r.status, (err) => err.message)));
        const failed = results.filter((r) => r !== 200);
        assert.equal(failed.length, 0, `${failed.length} of 40 fresh connections not answered after two reloads ` +
            `(current generation in slots ${slots}); first: ${failed[0]}`);

        const r = await held.result;
        assert.ok(r.complete, 'the held stream completed across both reloads');
        assert.ok(r.body.equals(upstreamOf(backend, heldModel).responseBody), 'byte-identical');
    });
});

describe('prefork master: invalid config on reload', { timeout: 60_000 }, () => {
    let backend;
    let relay;
    let config;
    let operatorConfig; // a valid copy naming the same instance (status/stats while the file is broken)
    let dir;
    before(async () => {
        backend = await startBackend();
        dir = await mkdtemp(path.join(tmpdir(), 'cc-relay-reload-'));
        // A fixed port, so `cc-relay status` can probe /health.
        const port = await freePort();
        config = masterConfig(backend, { server: { listen: `127.0.0.1:${port}`, workers: 2 } });
        relay = await startRelay(config);
        operatorConfig = path.join(dir, 'operator.yaml');
        await writeFile(operatorConfig, configText(config));
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
        await rm(dir, { recursive: true, force: true });
    });

    async function assertStillServing(generation) {
        const s = await statsJson({ configFile: operatorConfig, logs: relay.logs });
        assert.equal(s.generation, generation, 'the generation is unchanged');
        assert.equal(currentWorkers(s).length, 2, JSON.stringify(s.workers));
        for (let i = 0; i < 10; i++) {
            const r = await postMessage(relay.url, { agent: false });
            assert.equal(r.status, 200);
        }
    }

    const BROKEN_YAML = 'server:\n  listen: "127.0.0.1:0"\n  workers: [2\nproviders: {\n';

    it('`cc-relay reload` with a file that does not parse: exit 1 with the error, nothing signalled', async () => {
        const gen = (await statsJson(relay)).generation;
        await rewriteConfig(relay, BROKEN_YAML);
        const r = await runCli(['reload', '--config', relay.configFile]);
        assert.equal(r.code, 1, `exit ${r.code}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /YAML syntax error/, r.stderr);
        assert.ok(r.stderr.includes(relay.configFile), `the error names the file: ${r.stderr}`);
        assert.doesNotMatch(r.stdout, /reloaded/);
        assert.doesNotMatch(relay.logs(), /SIGHUP/, 'the master was not signalled');
        await assertStillServing(gen);
        await rewriteConfig(relay, config);
    });

    it('SIGHUP with a file that does not parse: old generation keeps serving, status shows the error', async () => {
        const gen = (await statsJson(relay)).generation;
        await rewriteConfig(relay, BROKEN_YAML);
        process.kill(relay.proc.pid, 'SIGHUP');
        await relay.waitForLog(/reload rejected, keeping generation \d+:[^]*YAML syntax error/, 5000);
        const st = await waitFor(async () => {
            const x = await runCli(['status', '--config', operatorConfig]);
            return /last reload: failed/.test(x.stdout) ? x : null;
        }, { timeoutMs: 5000, what: 'status shows the failed reload' });
        assert.match(st.stdout, /last reload: failed: [^]*YAML syntax error/, st.stdout);
        assert.match(st.stdout, new RegExp(`generation:\\s+${gen}\\b`), st.stdout);
        assert.match(st.stdout, /workers:\s+2\/2 ready/, st.stdout);
        assert.equal(st.code, 0, `status stays healthy: ${st.stdout}${st.stderr}`);
        await assertStillServing(gen);

        // Fixed file: the next reload succeeds and status says so.
        await rewriteConfig(relay, config);
        const ok = await runCli(['reload', '--config', relay.configFile]);
        assert.equal(ok.code, 0, ok.stdout + ok.stderr);
        assert.match(ok.stdout, new RegExp(`reloaded: generation ${gen + 1}`));
        const st2 = await runCli(['status', '--config', operatorConfig]);
        assert.match(st2.stdout, new RegExp(`last reload: ok, generation ${gen + 1}`), st2.stdout);
        assert.equal(st2.code, 0, st2.stdout);
    });

    it('`cc-relay reload` of a config the master refuses (its new address is taken): exit 1 with the error text', async () => {
        const gen = (await statsJson(relay)).generation;
        const blocker = net.createServer();
        await new Promise((resolve) => blocker.listen(0, '127.0.0.1', resolve));
        const taken = blocker.address().port;
        try {
            await rewriteConfig(relay, deepCopyWith(config, { server: { listen: `127.0.0.1:${taken}` } }));
            const r = await runCli(['reload', '--config', relay.configFile]);
            assert.equal(r.code, 1, `exit ${r.code}: ${r.stdout}${r.stderr}`);
            assert.match(r.stderr, new RegExp(`reload failed: .*127\\.0\\.0\\.1:${taken}`), r.stderr);
            assert.match(r.stderr, /in use/i, r.stderr);
            await assertStillServing(gen);
            // The old address still answers; the blocked one was never taken over.
            const h = await request(relay.url + '/health');
            assert.equal(h.status, 200);
        } finally {
            await new Promise((r) => blocker.close(r));
            await rewriteConfig(relay, config);
        }
    });
});

function deepCopyWith(base, over) {
    const out = JSON.parse(JSON.stringify(base));
    for (const [k, v] of Object.entries(over)) out[k] = { ...(out[k] ?? {}), ...v };
    return out;
}
