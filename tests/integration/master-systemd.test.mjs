// Prefork master (issue 3), systemd/: `systemd-analyze verify` passes on cc-relay.service (a copy
// whose paths point at the built binary and a temporary config), the unit has what the issue asks
// for, its command lines work as systemd would run them, and the sysusers/tmpfiles snippets apply.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import {
    configText, masterConfig, postMessage, startNotifyListener, withDeadline,
} from '../lib/process.mjs';
import { RELAY_BIN } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

const systemdDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../systemd');
const UNIT = path.join(systemdDir, 'cc-relay.service');

function run(cmd, args, { timeoutMs = 20_000 } = {}) {
    return new Promise((resolve) => {
        execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, error: err?.message });
        });
    });
}

/** [Section] → [[key, value], ...] of a unit file (comments and blank lines dropped). */
function parseUnit(text) {
    const sections = {};
    let cur;
    for (const raw of text.split('\n')) {
        const line = raw.trim();
        if (!line || line.startsWith('#') || line.startsWith(';')) continue;
        const sec = line.match(/^\[(.+)\]$/);
        if (sec) { cur = sections[sec[1]] ??= []; continue; }
        const eq = line.indexOf('=');
        cur.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
    }
    return sections;
}
const get = (sec, key) => sec.filter(([k]) => k === key).map(([, v]) => v);

/** Lines of systemd-analyze output that speak about the unit file itself. */
function linesAbout(out, unitPath) {
    return out.split('\n').filter((l) => l.includes(unitPath) || /cc-relay(-test)?\.service:/.test(l));
}

describe('systemd unit', { timeout: 60_000 }, () => {
    let dir;
    let configFile;
    let unitCopy;
    let backend;
    let config;
    before(async () => {
        backend = await startBackend();
        dir = await mkdtemp(path.join(tmpdir(), 'cc-relay-systemd-'));
        configFile = path.join(dir, 'config.yaml');
        config = masterConfig(backend, { server: { workers: 2, drain_timeout_ms: 2000 } });
        await writeFile(configFile, configText(config));
        // The unit as installed, with its binary and config paths pointing at this build.
        const text = readFileSync(UNIT, 'utf8')
            .replaceAll('/usr/local/bin/cc-relay', RELAY_BIN)
            .replaceAll('/etc/cc-relay/config.yaml', configFile);
        unitCopy = path.join(dir, 'cc-relay.service');
        await writeFile(unitCopy, text);
    });
    after(async () => {
        await backend?.close();
        if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('systemd-analyze verify passes on the unit', async () => {
        assert.ok(existsSync(RELAY_BIN), RELAY_BIN);
        const r = await run('systemd-analyze', ['verify', unitCopy]);
        assert.notEqual(r.code, -1, `systemd-analyze could not run (scripts/install-deps.sh --test installs systemd): ${r.error}`);
        const out = r.stdout + r.stderr;
        assert.equal(r.code, 0, `systemd-analyze verify exit ${r.code}:\n${out}`);
        assert.deepEqual(linesAbout(out, unitCopy), [], `systemd-analyze complains about the unit:\n${out}`);
    });

    it('the verify check above is not vacuous: a broken copy is reported', async () => {
        const broken = path.join(dir, 'cc-relay-test.service');
        await writeFile(broken, readFileSync(unitCopy, 'utf8')
            .replace('Type=notify', 'Type=notify\nTypo=yes\nRestart=sometimes'));
        const r = await run('systemd-analyze', ['verify', broken]);
        const lines = linesAbout(r.stdout + r.stderr, broken);
        assert.ok(lines.some((l) => /Unknown key 'Typo'/.test(l)), lines.join('\n'));
        assert.ok(lines.some((l) => /restart specifier/i.test(l)), lines.join('\n'));
    });

    it('has what the issue asks for: Type=notify, reload command, stop timeout over the drain, restart, unprivileged user, shared /dev/shm', () => {
        const unit = parseUnit(readFileSync(UNIT, 'utf8'));
        const svc = unit.Service;
        assert.deepEqual(get(svc, 'Type'), ['notify']);
        assert.ok(['main', 'exec', 'all'].includes(get(svc, 'NotifyAccess')[0] ?? 'main'));
        assert.match(get(svc, 'ExecStart')[0], /^\/usr\/local\/bin\/cc-relay serve --config \/etc\/cc-relay\/config\.yaml$/);
        assert.match(get(svc, 'ExecReload')[0], /^\/usr\/local\/bin\/cc-relay reload\b/);
        const stop = get(svc, 'TimeoutStopSec')[0];
        assert.ok(stop, 'TimeoutStopSec is set');
        const secs = Number(stop.replace(/s$/, ''));
        assert.ok(secs > 30, `TimeoutStopSec=${stop} must exceed the default 30 s drain`);
        assert.deepEqual(get(svc, 'Restart'), ['on-failure']);
        const user = get(svc, 'User')[0];
        assert.ok(user && user !== 'root' && user !== '0', `User=${user}`);
        for (const k of ['PrivateDevices', 'PrivateIPC']) {
            assert.ok(!get(svc, k).some((v) => /^(yes|true|1|on)$/i.test(v)), `${k} would hide the segment`);
        }
        assert.ok(get(svc, 'KillSignal').every((v) => v === 'SIGTERM'));
        assert.deepEqual(get(unit.Install, 'WantedBy'), ['multi-user.target']);
    });

    it('its command lines work as systemd runs them: ExecStartPre, ExecStart (READY=1), ExecReload, stop', async (t) => {
        const unit = parseUnit(readFileSync(unitCopy, 'utf8'));
        const argv = (key) => get(unit.Service, key)[0].replace(/^[-@:+!]+/, '').split(/\s+/);

        const pre = argv('ExecStartPre');
        const pr = await run(pre[0], pre.slice(1));
        assert.equal(pr.code, 0, `ExecStartPre: ${pr.stdout}${pr.stderr}`);

        const notify = await startNotifyListener();
        t.after(() => notify.close());
        const start = argv('ExecStart');
        const proc = spawn(start[0], start.slice(1), {
            env: { ...process.env, NOTIFY_SOCKET: notify.path },
            stdio: ['ignore', 'pipe', 'pipe'],
            detached: true,
        });
        let log = '';
        proc.stdout.on('data', (d) => { log += d; });
        proc.stderr.on('data', (d) => { log += d; });
        const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
        t.after(() => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } });

        await notify.waitFor('READY=1', 10_000);
        const port = Number(log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)?.[1]);
        assert.ok(port > 0, log);
        assert.equal((await postMessage(`http://127.0.0.1:${port}`)).status, 200);

        const reload = argv('ExecReload');
        const rr = await run(reload[0], reload.slice(1));
        assert.equal(rr.code, 0, `ExecReload: ${rr.stdout}${rr.stderr}\n${log}`);
        assert.match(rr.stdout, /reloaded: generation 2/);

        // systemd stops with KillSignal=SIGTERM to the main process (KillMode=mixed).
        process.kill(proc.pid, 'SIGTERM');
        const exit = await withDeadline(exited, 10_000, `exit after SIGTERM\n${log}`);
        assert.deepEqual(exit, { code: 0, signal: null }, log);
        assert.deepEqual(notify.messages, ['READY=1', 'RELOADING=1', 'READY=1', 'STOPPING=1']);
    });

    it('the sysusers and tmpfiles snippets apply to a scratch root', { skip: process.getuid?.() !== 0 && 'needs root (chown)' }, async () => {
        const root = path.join(dir, 'root');
        await mkdir(path.join(root, 'etc'), { recursive: true });
        const su = await run('systemd-sysusers', [`--root=${root}`, path.join(systemdDir, 'cc-relay.sysusers.conf')]);
        assert.equal(su.code, 0, su.stdout + su.stderr);
        const passwd = readFileSync(path.join(root, 'etc/passwd'), 'utf8');
        const user = get(parseUnit(readFileSync(UNIT, 'utf8')).Service, 'User')[0];
        assert.match(passwd, new RegExp(`^${user}:`, 'm'), 'sysusers creates the unit\'s User=');
        // Stats readers get a group of their own, which the service user joins (to give the
        // segment to it) and which the unit names as server.stats_group.
        const group = readFileSync(path.join(root, 'etc/group'), 'utf8');
        const stats = group.match(/^cc-relay-stats:x:(\d+):(.*)$/m);
        assert.ok(stats, group);
        assert.deepEqual(stats[2].split(','), [user]);
        const service = parseUnit(readFileSync(UNIT, 'utf8')).Service;
        assert.deepEqual(get(service, 'SupplementaryGroups'), ['cc-relay-stats']);
        assert.ok(get(service, 'Environment').includes('CC_RELAY_STATS_GROUP=cc-relay-stats'));

        // A config copied in with the README's old `cp` (0644) is made 0640 root:cc-relay.
        await mkdir(path.join(root, 'etc/cc-relay'), { recursive: true });
        await writeFile(path.join(root, 'etc/cc-relay/config.yaml'), 'server: {}\n', { mode: 0o644 });
        const tf = await run('systemd-tmpfiles', ['--create', `--root=${root}`, path.join(systemdDir, 'cc-relay.tmpfiles.conf')]);
        assert.equal(tf.code, 0, tf.stdout + tf.stderr);
        assert.ok(existsSync(path.join(root, 'etc/cc-relay')));
        const serviceGid = Number(group.match(/^cc-relay:x:(\d+):/m)[1]);
        const folder = statSync(path.join(root, 'etc/cc-relay'));
        assert.equal(folder.mode & 0o777, 0o750);
        assert.equal(folder.gid, serviceGid);
        const cfg = statSync(path.join(root, 'etc/cc-relay/config.yaml'));
        assert.equal(cfg.mode & 0o777, 0o640);
        assert.equal(cfg.uid, 0);
        assert.equal(cfg.gid, serviceGid);
        assert.notEqual(serviceGid, Number(stats[1]), 'stats readers do not get the config\'s group');
    });
});
