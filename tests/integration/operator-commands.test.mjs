// Operator commands (issue 7): `stats`, `status` and `reload` need only the instance's segment.
// They run here in an environment without the service's variables, name the instance by
// --listen / --shm without any config, find it after server.listen was edited, tell "not
// running" from "cannot read", and the segment belongs to server.stats_group. A segment left by
// another user names the file and the command that removes it.

import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { request } from '../lib/http.mjs';
import { configText, freePort, rewriteConfig, runCli, uniqueShmName } from '../lib/process.mjs';
import { mockProvider, startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

const SECRET_VAR = 'CCR_OPS_TEST_RELAY_KEY';
const NOBODY = { uid: 65534, gid: 65534 };
const isRoot = process.getuid?.() === 0;

/** The config of the service: its client key comes from an environment operators do not have. */
function serviceConfig(backend, over = {}) {
    return {
        server: {
            listen: '127.0.0.1:0', workers: 1, drain_timeout_ms: 1000,
            auth: { api_key: `\${${SECRET_VAR}}` }, ...over,
        },
        providers: [mockProvider(backend)],
    };
}

/** A folder that every user may read, for files another user's process reads. */
async function publicDir() {
    const dir = await mkdtemp(path.join(tmpdir(), 'cc-relay-ops-'));
    await chmod(dir, 0o755);
    return dir;
}

describe('operator commands without the service environment', { timeout: 60_000 }, () => {
    let backend;
    let relay;
    let shm;
    let scratch;
    before(async () => {
        assert.equal(process.env[SECRET_VAR], undefined, 'the operator shell lacks the secret');
        backend = await startBackend();
        relay = await startRelay(serviceConfig(backend), { env: { [SECRET_VAR]: 'sk-relay' } });
        shm = `/cc-relay-${relay.port}`; // derived from the port it bound
        // A folder whose config.yaml does not even parse, and a HOME without one: commands that
        // name the instance by --listen or --shm read no config at all.
        scratch = await mkdtemp(path.join(tmpdir(), 'cc-relay-ops-cwd-'));
        await writeFile(path.join(scratch, 'config.yaml'), 'server: [\n');
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
        if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    it('stats and status --config expand nothing they do not use', async () => {
        const s = await runCli(['stats', '--json', '--config', relay.configFile]);
        assert.equal(s.code, 0, s.stderr);
        assert.equal(JSON.parse(s.stdout).generation, 1);
        const st = await runCli(['status', '--config', relay.configFile]);
        assert.equal(st.code, 0, st.stdout + st.stderr);
        assert.match(st.stdout, /status:\s+healthy/);
        assert.ok(st.stdout.includes(`instance:    ${shm} (config ${relay.configFile})`), st.stdout);
    });

    it('--listen HOST:PORT and --shm NAME need no config', async () => {
        const opts = { cwd: scratch, env: { HOME: scratch } };
        const byListen = await runCli(['stats', '--json', '--listen', `127.0.0.1:${relay.port}`], opts);
        assert.equal(byListen.code, 0, byListen.stderr);
        assert.equal(JSON.parse(byListen.stdout).master_pid, relay.proc.pid);
        const byShm = await runCli(['stats', '--shm', shm], opts);
        assert.equal(byShm.code, 0, byShm.stderr);
        assert.match(byShm.stdout, /TOTAL/);
        const st = await runCli(['status', '--listen', `127.0.0.1:${relay.port}`], opts);
        assert.equal(st.code, 0, st.stdout + st.stderr);
        assert.match(st.stdout, new RegExp(`health:\\s+GET http://127\\.0\\.0\\.1:${relay.port}/health: 200`));
        // Without --listen the broken ./config.yaml is what names the instance.
        const broken = await runCli(['stats'], opts);
        assert.equal(broken.code, 1);
        assert.match(broken.stderr, /config\.yaml:2:1: YAML syntax error/, broken.stderr);
        const both = await runCli(['stats', '--listen', `127.0.0.1:${relay.port}`, '--shm', shm], opts);
        assert.equal(both.code, 2, both.stderr);
    });

    it('status tells a segment it may not read from a stopped instance', { skip: !isRoot && 'needs root' }, async () => {
        const st = await runCli(['status', '--shm', shm], NOBODY);
        assert.equal(st.code, 4, st.stdout + st.stderr);
        assert.match(st.stdout, /^status: unknown: the instance's shared memory exists but this user may not read it$/m);
        assert.doesNotMatch(st.stdout, /not running/);
        assert.ok(st.stderr.includes(`permission denied opening shared memory ${shm} (/dev/shm${shm}: owner root, group root, mode 0640)`), st.stderr);
        const gone = await runCli(['status', '--shm', '/cc-relay-ops-test-none']);
        assert.equal(gone.code, 3, gone.stdout + gone.stderr);
        assert.equal(gone.stdout, 'status: not running\n');
    });

    it('reload finds the instance after server.listen is edited, and status follows it', async () => {
        const port = await freePort();
        await rewriteConfig(relay, serviceConfig(backend, { listen: `127.0.0.1:${port}` }));
        const r = await runCli(['reload', '--config', relay.configFile]);
        assert.equal(r.code, 0, r.stdout + r.stderr + relay.logs().slice(-2000));
        assert.equal(r.stdout, 'reloaded: generation 2\n');
        const h = await request(`http://127.0.0.1:${port}/health`);
        assert.equal(h.status, 200);
        const st = await runCli(['status', '--config', relay.configFile]);
        assert.equal(st.code, 0, st.stdout + st.stderr);
        assert.match(st.stdout, new RegExp(`health:\\s+GET http://127\\.0\\.0\\.1:${port}/health: 200`));
        assert.match(st.stdout, /generation:\s+2/);
        const s = await runCli(['stats', '--json', '--config', relay.configFile]);
        assert.equal(s.code, 0, s.stderr);
        assert.equal(JSON.parse(s.stdout).generation, 2);
    });
});

describe('server.stats_group', { timeout: 60_000, skip: !isRoot && 'needs root' }, () => {
    let backend;
    before(async () => { backend = await startBackend(); });
    after(async () => { await backend?.close(); });

    it('owns the segment, mode 0640: its members read stats without the config', async () => {
        // As the shipped config.example.yaml and unit set it.
        const relay = await startRelay(
            serviceConfig(backend, { stats_group: '${CC_RELAY_STATS_GROUP:-}' }),
            { env: { [SECRET_VAR]: 'sk-relay', CC_RELAY_STATS_GROUP: 'nogroup' } });
        try {
            const st = statSync(`/dev/shm/cc-relay-${relay.port}`);
            assert.equal(st.gid, 65534, 'group nogroup');
            assert.equal(st.mode & 0o777, 0o640);
            const s = await runCli(['stats', '--json', '--listen', `127.0.0.1:${relay.port}`], NOBODY);
            assert.equal(s.code, 0, s.stderr);
            assert.equal(JSON.parse(s.stdout).master_pid, relay.proc.pid);
        } finally {
            await relay.stop();
        }
    });

    it('follows a reload; a reload naming an unknown group is refused and changes nothing', async () => {
        const env = { [SECRET_VAR]: 'sk-relay' };
        const relay = await startRelay(serviceConfig(backend), { env });
        const file = `/dev/shm/cc-relay-${relay.port}`;
        try {
            assert.equal(statSync(file).gid, 0, 'the master\'s own group');
            await rewriteConfig(relay, serviceConfig(backend, { stats_group: 'nogroup' }));
            const ok = await runCli(['reload', '--config', relay.configFile]);
            assert.equal(ok.code, 0, ok.stdout + ok.stderr);
            assert.equal(statSync(file).gid, 65534);
            await rewriteConfig(relay, serviceConfig(backend, { stats_group: 'ccr-no-such-group' }));
            const bad = await runCli(['reload', '--config', relay.configFile]);
            assert.equal(bad.code, 1, bad.stdout + bad.stderr);
            assert.match(bad.stderr, /reload failed: server\.stats_group: no group named "ccr-no-such-group"/);
            assert.equal(statSync(file).gid, 65534);
            assert.equal(statSync(file).mode & 0o777, 0o640);
        } finally {
            await relay.stop();
        }
    });

    it('an unknown group stops the start with what to do', async () => {
        const dir = await publicDir();
        try {
            const file = path.join(dir, 'config.yaml');
            await writeFile(file, configText(serviceConfig(backend, { stats_group: 'ccr-no-such-group' })));
            const r = await runCli(['serve', '--config', file], { env: { [SECRET_VAR]: 'k' } });
            assert.equal(r.code, 1, r.stdout + r.stderr);
            assert.match(r.stdout + r.stderr,
                /server\.stats_group: no group named "ccr-no-such-group" on this host \(create it: `groupadd ccr-no-such-group`/);
        } finally {
            await rm(dir, { recursive: true, force: true });
        }
    });
});

describe('a stale segment of another user', { timeout: 60_000, skip: !isRoot && 'needs root' }, () => {
    it('names the file and the command that removes it, rather than "File exists"', async () => {
        const backend = await startBackend();
        const dir = await publicDir();
        const shm = uniqueShmName();
        const file = path.join(dir, 'config.yaml');
        try {
            // What a crashed root-run instance leaves: root's, not readable by the service user.
            await writeFile(`/dev/shm${shm}`, 'x'.repeat(64), { mode: 0o600 });
            await writeFile(file, configText(serviceConfig(backend, { shm_name: shm })), { mode: 0o644 });
            const r = await runCli(['serve', '--config', file], { ...NOBODY, env: { [SECRET_VAR]: 'k' } });
            assert.equal(r.code, 1, r.stdout + r.stderr);
            const out = r.stdout + r.stderr;
            assert.ok(out.includes(`shared memory ${shm} already exists (/dev/shm${shm}: owner root, group root, mode 0600;`), out);
            assert.ok(out.includes(`remove it with \`sudo rm /dev/shm${shm}\``), out);
            assert.doesNotMatch(out, /File exists/);

            // Root may replace it: the next start succeeds.
            const relay = await startRelay(serviceConfig(backend, { shm_name: shm }), { env: { [SECRET_VAR]: 'k' } });
            const s = await runCli(['stats', '--json', '--shm', shm]);
            assert.equal(JSON.parse(s.stdout).master_pid, relay.proc.pid);
            await relay.stop();
        } finally {
            await rm(`/dev/shm${shm}`, { force: true });
            await rm(dir, { recursive: true, force: true });
            await backend.close();
        }
    });
});
