// Issue 11, secrets: provider keys, client keys, the relay's key, its bearer secret and the admin
// token never appear in anything the relay says. One run with every debug log option on,
// successes, failovers, upstream errors from a backend that echoes the request's headers back (a
// careless or hostile provider), wrong keys, a reload that fails on a broken config, every admin
// endpoint, every operator command; then every byte it produced — its stdout and stderr, every
// HTTP answer (head and body), every command's output, the stats segment and the usage ledger —
// is searched for each secret and for recognisable pieces of it (its start, its end).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { messagesBody, request } from '../lib/http.mjs';
import { childPids, configText, freePort, runCli, uniqueShmName, waitFor, withDeadline } from '../lib/process.mjs';
import { RELAY_BIN, startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

const hex = (n) => randomBytes(n).toString('hex');
// Each secret starts with a tag of its own and ends in random hex, so a piece of one is
// recognisable wherever it shows up.
const SECRETS = {
    providerLiteral: `sk-ant-api03-PROVLIT${hex(12)}`,
    providerEnv: `sk-zai-PROVENV${hex(12)}`,
    relayKey: `sk-relay-RELAYKEY${hex(12)}`,
    bearerSecret: `BEARERSECRET${hex(12)}`,
    aliceKey: `sk-client-ALICE${hex(12)}`,
    bobEnvKey: `sk-client-BOBENV${hex(12)}`,
    adminToken: `ADMINTOKEN${hex(12)}`,
};
// Credentials a client sends that are wrong: a key of another service, the relay's key less its
// last byte. The relay must not repeat them either (they may be real keys of something else).
const WRONG = {
    foreignKey: `sk-ant-api03-FOREIGN${hex(12)}`,
    nearMiss: SECRETS.relayKey.slice(0, -1),
    wrongAdmin: `WRONGADMIN${hex(12)}`,
};

/** The pieces of a secret that would give it away: itself, its first 14 and last 8 bytes. */
function pieces(secret) {
    return [secret, secret.slice(0, 14), secret.slice(-8)];
}

/** Every [label, piece] found in `text`. */
function findSecrets(text, secrets) {
    const found = [];
    for (const [name, secret] of Object.entries(secrets)) {
        for (const p of pieces(secret)) if (text.includes(p)) found.push(`${name} (${p})`);
    }
    return found;
}

/** The lines of `text` around each occurrence of a found piece, for the failure message. */
function context(text, secrets) {
    const lines = [];
    for (const secret of Object.values(secrets)) {
        for (const p of pieces(secret)) {
            for (const line of text.split('\n')) if (line.includes(p)) lines.push(line.slice(0, 400));
        }
    }
    return [...new Set(lines)].slice(0, 20).join('\n');
}

describe('secrets never appear in any output', { timeout: 120_000 }, () => {
    let backend;
    let relay;
    let dir;
    let adminUrl;
    let config;
    let shm;
    let ledger;
    const captured = [];  // [what, text]
    const capture = (what, text) => { captured.push([what, String(text)]); return text; };

    const env = { CCR_TEST_PROVIDER_KEY: SECRETS.providerEnv, CCR_TEST_BOB_KEY: SECRETS.bobEnvKey };
    const cli = async (args) => {
        const r = await runCli(args, { env });
        capture(`cc-relay ${args.join(' ')}`, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
        return r;
    };
    const http = async (what, url, opts) => {
        const res = await request(url, { agent: false, ...opts });
        capture(what, `${res.status}\n${JSON.stringify(res.headers)}\n${res.body}`);
        return res;
    };
    const post = (what, headers, body = messagesBody()) => http(what, `${relay.url}/v1/messages`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
        body: JSON.stringify(body),
    });
    const admin = (p, { method = 'GET', token = SECRETS.adminToken } = {}) =>
        http(`admin ${method} ${p}`, `${adminUrl}${p}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });

    before(async () => {
        backend = await startBackend();
        // A backend that quotes every request header back in its errors, in the body and in a
        // header of its own, whenever the model asks for an error.
        backend.setMode((rec) => {
            const model = rec.json?.model ?? '';
            if (!model.startsWith('echo-error')) return undefined;
            const status = Number(model.split(':')[1] ?? 401);
            const body = JSON.stringify({
                type: 'error',
                error: { type: 'authentication_error', message: `invalid key ${rec.headers['x-api-key'] ?? rec.headers.authorization}` },
                received_headers: rec.headers,
            });
            return {
                kind: 'raw', status, body,
                headers: {
                    'content-type': 'application/json',
                    'x-echo-api-key': String(rec.headers['x-api-key'] ?? ''),
                    'x-echo-authorization': String(rec.headers.authorization ?? ''),
                },
            };
        });
        dir = await mkdtemp(path.join(tmpdir(), 'cc-relay-secrets-'));
        const port = await freePort();
        adminUrl = `http://127.0.0.1:${port}`;
        shm = uniqueShmName();
        ledger = path.join(dir, 'usage.db');
        config = {
            server: {
                shm_name: shm,
                workers: 2,
                auth: { api_key: SECRETS.relayKey, allow_bearer: true, bearer_secret: SECRETS.bearerSecret },
                admin: { listen: `127.0.0.1:${port}`, bearer_token: SECRETS.adminToken },
            },
            ledger: { enabled: true, path: ledger, interval_ms: 1000 },
            logging: {
                level: 'trace',
                format: 'text',
                output: 'stderr',
                debug_options: { log_request_body: true, log_response_headers: true, log_tls_metrics: true, max_body_log_size: 100000 },
                debug_for: { clients: ['alice', 'bob'], providers: ['literal', 'fromenv'] },
            },
            routing: { strategy: 'failover', debug: true },
            providers: [
                { name: 'literal', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: SECRETS.providerLiteral, priority: 2 }] },
                { name: 'fromenv', type: 'zai', enabled: true, base_url: backend.url, keys: [{ key: '${CCR_TEST_PROVIDER_KEY}', priority: 1 }],
                  models: ['claude-sonnet-4-5', 'echo-error:401', 'echo-error:500'] },
            ],
            clients: [
                { name: 'alice', key: SECRETS.aliceKey },
                { name: 'bob', key: '${CCR_TEST_BOB_KEY}', allowed_providers: ['fromenv'] },
            ],
        };
        relay = await startRelay(config, { env, args: ['--debug'] });
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
        if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('serves successes with every kind of credential', async () => {
        const creds = [
            { 'x-api-key': SECRETS.relayKey },
            { authorization: `Bearer ${SECRETS.relayKey}` },
            { authorization: `Bearer ${SECRETS.bearerSecret}` },
            { 'x-api-key': SECRETS.aliceKey },
            { authorization: `Bearer ${SECRETS.bobEnvKey}` },
        ];
        for (const headers of creds) {
            const res = await post(`POST ${Object.keys(headers)[0]}`, headers);
            assert.equal(res.status, 200, res.body);
            const stream = await post('POST stream', headers, messagesBody('claude-sonnet-4-5', { stream: true }));
            assert.equal(stream.status, 200, stream.body);
        }
        const count = await http('count_tokens', `${relay.url}/v1/messages/count_tokens`, {
            method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.aliceKey },
            body: JSON.stringify(messagesBody()),
        });
        assert.equal(count.status, 200, count.body);
        // The keys did travel: the literal one and the one from the environment each reached the backend.
        const sent = backend.requests.map((r) => JSON.stringify(r.headers)).join('\n');
        assert.ok(sent.includes(SECRETS.providerLiteral), 'the literal provider key was sent upstream');
        assert.ok(sent.includes(SECRETS.providerEnv), 'the ${ENV} provider key was sent upstream');
    });

    it('relays upstream errors that quote the request headers without the provider key in them', async () => {
        // The first provider does not list the model: bob goes to fromenv, which echoes.
        const last = await post('echo 401', { 'x-api-key': SECRETS.bobEnvKey }, messagesBody('echo-error:401'));
        assert.equal(last.status, 401, last.body);
        const body = JSON.parse(last.body);
        assert.match(body.error.message, /^invalid key Bearer \*+$/);
        assert.equal(body.received_headers.authorization, `Bearer ${'*'.repeat(SECRETS.providerEnv.length)}`);
        assert.equal(last.headers['x-echo-authorization'], `Bearer ${'*'.repeat(SECRETS.providerEnv.length)}`);
        // A 500 from the first provider fails over; the last one's 500 is relayed.
        const failed = await post('echo 500', { 'x-api-key': SECRETS.relayKey }, messagesBody('echo-error:500'));
        assert.equal(failed.status, 500, failed.body);
        assert.match(JSON.parse(failed.body).error.message, /^invalid key Bearer \*+$/);
        assert.equal(failed.headers['x-cc-relay-attempts'], '2', 'the first provider was tried, and echoed its x-api-key');
        assert.ok(backend.requests.some((r) => r.json?.model === 'echo-error:500' && r.headers['x-api-key'] === SECRETS.providerLiteral));
        // Every echo reached the backend with the real key (the masking is the relay's).
        assert.ok(backend.requests.some((r) => r.headers.authorization === `Bearer ${SECRETS.providerEnv}`));
    });

    it('refuses wrong credentials without repeating them', async () => {
        for (const headers of [
            { 'x-api-key': WRONG.foreignKey },
            { authorization: `Bearer ${WRONG.foreignKey}` },
            { 'x-api-key': WRONG.nearMiss },
            { 'x-api-key': SECRETS.providerLiteral },  // a provider's key is no client credential
        ]) {
            const res = await post('wrong key', headers);
            assert.equal(res.status, 401, res.body);
        }
        for (const p of ['/v1/models', '/v1/providers']) {
            assert.equal((await http(`GET ${p} wrong`, `${relay.url}${p}`, { headers: { 'x-api-key': WRONG.foreignKey } })).status, 401);
        }
        const res = await admin('/admin/status', { token: WRONG.wrongAdmin });
        assert.equal(res.status, 401, res.body);
        assert.equal((await admin('/metrics', { token: null })).status, 401);
    });

    it('answers every endpoint, the admin API and the operator commands', async () => {
        for (const p of ['/v1/models', '/v1/providers', '/health']) {
            const res = await http(`GET ${p}`, `${relay.url}${p}`, { headers: { 'x-api-key': SECRETS.aliceKey } });
            assert.equal(res.status, 200, `${p}: ${res.body}`);
        }
        for (const p of ['/metrics', '/admin/status', '/admin/providers', '/admin/clients']) {
            const res = await admin(p);
            assert.equal(res.status, 200, `${p}: ${res.body}`);
        }
        assert.equal((await admin('/admin/providers/literal/disable', { method: 'POST' })).status, 200);
        assert.equal((await admin('/admin/providers/literal/enable', { method: 'POST' })).status, 200);
        assert.equal((await admin('/admin/reload', { method: 'POST' })).status, 200);

        const byConfig = ['--config', relay.configFile];
        for (const args of [
            ['stats', ...byConfig], ['stats', '--json', '--workers', ...byConfig], ['stats', '--shm', shm],
            ['status', ...byConfig], ['top', '--once', ...byConfig], ['config', 'validate', ...byConfig],
            ['reload', ...byConfig], ['version'],
        ]) {
            const r = await cli(args);
            assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        }
        // The ledger is written every second.
        await waitFor(async () => (await runCli(['usage', '--json', '--db', ledger])).stdout.includes('"alice"'),
            { timeoutMs: 10_000, what: 'the ledger rows' });
        assert.equal((await cli(['usage', '--db', ledger])).code, 0);
        assert.equal((await cli(['usage', '--json', '--db', ledger])).code, 0);
    });

    it('reports a broken config without quoting the keys in it', async () => {
        // A key where a list belongs, and a client key under a misspelt name.
        const broken = configText(config)
            .replace(`"keys": [\n        {\n          "key": "${SECRETS.providerLiteral}"`,
                `"keys": "${SECRETS.providerLiteral}", "kees": [\n        {\n          "key": "${SECRETS.providerLiteral}"`)
            .replace(`"key": "${SECRETS.aliceKey}"`, `"kee": "${SECRETS.aliceKey}"`);
        assert.notEqual(broken, configText(config), 'the config was broken');
        const file = path.join(dir, 'broken.yaml');
        await writeFile(file, broken);
        const v = await cli(['config', 'validate', '--config', file]);
        assert.equal(v.code, 1, v.stdout + v.stderr);
        // The same file behind the running relay: the reload fails and says why.
        await writeFile(relay.configFile, broken);
        const r = await cli(['reload', '--config', relay.configFile]);
        assert.notEqual(r.code, 0, r.stdout + r.stderr);
        await writeFile(relay.configFile, configText(config));
        // An unset ${VAR} in a key: the message names the variable, not a value.
        const unset = await runCli(['config', 'validate', '--config', relay.configFile], { env: { CCR_TEST_BOB_KEY: SECRETS.bobEnvKey } });
        capture('config validate, one variable unset', `${unset.stdout}${unset.stderr}`);
        assert.equal(unset.code, 1);
        assert.match(unset.stderr, /CCR_TEST_PROVIDER_KEY/);
    });

    it('no secret, nor a recognisable piece of one, appears anywhere', async () => {
        await relay.stop();
        capture('relay stdout+stderr', relay.logs());
        capture('stats segment', (() => { try { return readFileSync(`/dev/shm${shm}`, 'latin1'); } catch { return ''; } })());
        capture('usage ledger', readFileSync(ledger, 'latin1'));
        // The run did log at trace level with bodies and headers, and did see every credential.
        assert.match(relay.logs(), /debug_for client=alice/);
        assert.match(relay.logs(), /debug_for provider=fromenv/);
        // The echoing answers' headers were logged (debug_for, log_response_headers), masked.
        assert.match(relay.logs(), /provider=literal: answered 500 .*x-echo-api-key: \*{20,};/);
        assert.match(relay.logs(), /provider=fromenv: answered 401 .*x-echo-authorization: Bearer \*{20,};/);
        assert.ok(captured.length > 40, `${captured.length} outputs captured`);
        const problems = [];
        for (const [what, text] of captured) {
            const found = findSecrets(text, { ...SECRETS, ...WRONG });
            if (found.length) problems.push(`${what}: ${found.join(', ')}\n${context(text, { ...SECRETS, ...WRONG })}`);
        }
        assert.deepEqual(problems, []);
    });

    it('the search above is not vacuous: it finds a key planted in an output', () => {
        assert.deepEqual(findSecrets(`x ${SECRETS.aliceKey.slice(0, 14)} y`, SECRETS), [`aliceKey (${SECRETS.aliceKey.slice(0, 14)})`]);
        assert.deepEqual(findSecrets(`x ...${SECRETS.adminToken.slice(-8)} y`, SECRETS), [`adminToken (${SECRETS.adminToken.slice(-8)})`]);
    });
});

// Workers (and the admin process) are not dumpable: their /proc entries belong to root, so
// another process of the service's own user cannot read their memory, environment or a core
// file, while the master's stay the user's (the control that shows the check can fail). Run as
// `nobody`, since root may read everything anyway.
describe('workers are not dumpable', { timeout: 60_000, skip: process.getuid?.() !== 0 && 'needs root to run the relay as nobody' }, () => {
    const NOBODY = 65534;
    const ENV_SECRET = `sk-env-DUMPABLE${hex(12)}`;

    /** Runs `cat FILE` as nobody: { code, out }. */
    const catAsNobody = (file) => new Promise((resolve) => {
        const child = spawn('cat', [file], { uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d) => { out += d; });
        child.stderr.on('data', (d) => { out += d; });
        child.on('close', (code) => resolve({ code, out }));
    });

    it('a worker\'s /proc entries are root\'s and closed to its own user; the master\'s are not', async (t) => {
        const backend = await startBackend();
        t.after(() => backend.close());
        const tmp = await mkdtemp(path.join(tmpdir(), 'cc-relay-dumpable-'));
        t.after(() => rm(tmp, { recursive: true, force: true }));
        await chmod(tmp, 0o755);
        const cfgFile = path.join(tmp, 'config.yaml');
        const shm = uniqueShmName();
        // The segment is nobody's: removed by the master on SIGTERM, else here.
        t.after(() => rm(`/dev/shm${shm}`, { force: true }));
        await writeFile(cfgFile, configText({
            server: { shm_name: shm, workers: 1 },
            providers: [{ name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: '${CCR_DUMPABLE_KEY}' }] }],
        }), { mode: 0o644 });
        const proc = spawn(RELAY_BIN, ['serve', '--config', cfgFile], {
            uid: NOBODY, gid: NOBODY, cwd: tmp, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
            env: { PATH: process.env.PATH, CCR_DUMPABLE_KEY: ENV_SECRET },
        });
        let log = '';
        proc.stdout.on('data', (d) => { log += d; });
        proc.stderr.on('data', (d) => { log += d; });
        const exited = new Promise((r) => proc.on('exit', r));
        t.after(async () => {
            try { process.kill(proc.pid, 'SIGTERM'); } catch { /* gone */ }
            await withDeadline(exited, 10_000, 'the relay run as nobody stopped').catch(() => {});
            try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ }
        });
        await waitFor(() => /listening on http/.test(log), { timeoutMs: 15_000, what: `the relay up as nobody\n${log}` });
        const title = (pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        let workers = [];
        await waitFor(() => (workers = childPids(proc.pid).filter((p) => title(p).startsWith('cc-relay: worker'))).length === 1,
            { timeoutMs: 5000, what: 'the worker' });
        const [worker] = workers;

        assert.equal(statSync(`/proc/${proc.pid}`).uid, NOBODY, 'the master runs as nobody');
        assert.equal(statSync(`/proc/${proc.pid}/environ`).uid, NOBODY, 'the master is dumpable');
        for (const f of ['environ', 'mem', 'maps', 'fd']) {
            assert.equal(statSync(`/proc/${worker}/${f}`).uid, 0, `/proc/<worker>/${f} belongs to root`);
        }
        // What that means for another process of the same user:
        // (The master's process title overwrote its original environment block, so what is read
        // there is not the environment; readable is what matters.)
        const master = await catAsNobody(`/proc/${proc.pid}/environ`);
        assert.equal(master.code, 0, `the control: the master's is open to its user: ${master.out}`);
        const denied = await catAsNobody(`/proc/${worker}/environ`);
        assert.notEqual(denied.code, 0, 'the worker\'s environment is closed to its user');
        assert.match(denied.out, /Permission denied/);
        assert.ok(!denied.out.includes(ENV_SECRET));
        assert.match(readFileSync(`/proc/${worker}/status`, 'utf8'), /^Uid:\s+65534\b/m, 'the worker itself still runs as nobody');
    });
});

// A config file that holds credentials written in it and that other users may read gets a
// warning at start and from `config validate`; one with only ${VAR} references, or a private
// mode, does not.
describe('a config file others can read', { timeout: 60_000 }, () => {
    const KEY = `sk-literal-EXPOSED${hex(12)}`;
    let backend;
    let dir;
    before(async () => {
        backend = await startBackend();
        dir = await mkdtemp(path.join(tmpdir(), 'cc-relay-exposure-'));
    });
    after(async () => {
        await backend?.close();
        if (dir) await rm(dir, { recursive: true, force: true });
    });
    const provider = (key) => ({ providers: [{ name: 'mock', type: 'zai', enabled: true, base_url: backend.url, keys: [{ key }] }] });
    const validate = async (name, config, mode) => {
        const file = path.join(dir, name);
        await writeFile(file, configText(config));
        await chmod(file, mode);
        const r = await runCli(['config', 'validate', '--config', file], { env: { CCR_EXPOSURE_KEY: KEY } });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.ok(!(r.stdout + r.stderr).includes(KEY));
        return { file, stderr: r.stderr };
    };
    const WARNING = /the file holds credentials written in it \(providers\[0\]\.keys\[0\]\.key\) and is readable by every user \(mode 0644\)/;

    it('config validate warns about a world-readable file with a literal key, naming the file', async () => {
        const { file, stderr } = await validate('literal.yaml', provider(KEY), 0o644);
        assert.ok(stderr.split('\n').some((l) => l.startsWith(`warning: ${file}: `) && WARNING.test(l)), stderr);
    });

    it('config validate is silent about the same file at 0600, and about ${VAR} references at 0644', async () => {
        assert.doesNotMatch((await validate('private.yaml', provider(KEY), 0o600)).stderr, /credentials written in it/);
        assert.doesNotMatch((await validate('env.yaml', provider('${CCR_EXPOSURE_KEY}'), 0o644)).stderr, /credentials written in it/);
    });

    it('serve logs the warning at start', async (t) => {
        const umask = process.umask(0o022);  // startRelay writes the file 0666 less the umask: 0644
        let relay;
        try {
            relay = await startRelay(provider(KEY));
        } finally {
            process.umask(umask);
        }
        t.after(() => relay.stop());
        assert.equal(statSync(relay.configFile).mode & 0o777, 0o644);
        assert.match(relay.logs(), WARNING);
        assert.ok(!relay.logs().includes(KEY));
    });
});
