// `cc-relay top`: plain frames when not on a terminal, and a live screen under a pseudo-terminal
// (util-linux `script`) that shows the providers, switches views and quits on `q` or Ctrl-C,
// leaving the terminal as it found it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';

import { messagesBody, postJson } from '../lib/http.mjs';
import { runCli } from '../lib/process.mjs';
import { RELAY_BIN, startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l'; // cursor shown, main screen

// `cc-relay top <args>` on a pseudo-terminal of its own: `script` gives it one and copies the
// screen to its stdout; what is written to `script`'s stdin are keys.
function topOnTerminal(args) {
    const cmd = [RELAY_BIN, 'top', ...args].join(' ');
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
        stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm' },
    });
    const t = { child, out: '' };
    child.stdout.on('data', (d) => { t.out += d.toString('utf8'); });
    t.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    t.waitOut = async (re, what) => {
        const deadline = Date.now() + 5000;
        while (!re.test(t.out)) {
            if (Date.now() > deadline) assert.fail(`${what} not on the screen:\n${t.out}`);
            await new Promise((r) => setTimeout(r, 50));
        }
    };
    // The exit code, or 'timeout' (then it is killed) when it has not exited within `ms`.
    t.exitWithin = async (ms) => {
        const code = await Promise.race([t.exited, new Promise((r) => setTimeout(() => r('timeout'), ms))]);
        if (code === 'timeout') child.kill('SIGKILL');
        return code;
    };
    return t;
}

describe('cc-relay top', { timeout: 60_000 }, () => {
    let backend;
    let relay;
    before(async () => {
        backend = await startBackend();
        relay = await startRelay({ providers: [
            { name: 'primary-mock', type: 'anthropic', enabled: true, base_url: backend.url, keys: [{ key: 'k' }] },
            { name: 'second-mock', type: 'zai', enabled: true, base_url: backend.url, keys: [{ key: 'k' }] },
        ] });
        for (let i = 0; i < 3; i++) assert.equal((await postJson(relay.url, '/v1/messages', messagesBody())).status, 200);
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
    });

    it('--once without a terminal prints one plain frame with the providers and their counts', async () => {
        const r = await runCli(['top', '--once', '--config', relay.configFile]);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(!r.stdout.includes('\x1b'), 'no escape sequences off a terminal');
        const lines = r.stdout.split('\n');
        const head = lines.find((l) => l.startsWith('PROVIDER'));
        assert.match(head ?? '', /^PROVIDER +REQS +REQ\/S +INFL +ERR% +TTFB50 +TTFB99 +TOK\/S +CIRCUIT$/, r.stdout);
        // The three requests went to the first provider; the second has none.
        assert.match(lines.find((l) => l.startsWith('primary-mock ')) ?? '', /^primary-mock +3 +\S+ +0 +0\.0 .* closed$/, r.stdout);
        assert.match(lines.find((l) => l.startsWith('second-mock ')) ?? '', /^second-mock +0 +0\.0 +0 +- .* closed$/, r.stdout);
        assert.doesNotMatch(r.stdout, /q quit/, 'no keys off a terminal');
    });

    it('--count N without a terminal prints N frames, the later ones with rates over the interval', async () => {
        const r = await runCli(['top', '--count', '2', '--interval', '0.2', '--config', relay.configFile]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.match(/^PROVIDER/gm)?.length, 2, r.stdout);
        assert.match(r.stdout, /rates over the uptime[^]*rates over 0\.2s/, r.stdout);
        assert.ok(r.ms >= 200, `waits for the interval (${r.ms} ms)`);
    });

    it('names a missing instance and a bad interval as stats does', async () => {
        const missing = await runCli(['top', '--once', '--shm', '/cc-relay-top-missing']);
        const stats = await runCli(['stats', '--shm', '/cc-relay-top-missing']);
        assert.equal(missing.code, stats.code);
        assert.equal(missing.stderr, stats.stderr);
        assert.match(missing.stderr, /no running cc-relay instance/);
        for (const bad of ['0.05', '61', 'x']) {
            const r = await runCli(['top', '--interval', bad, '--config', relay.configFile]);
            assert.equal(r.code, 2, `--interval ${bad}: ${r.stdout}${r.stderr}`);
        }
    });

    it('on a terminal: the providers, `v` switches to clients, `q` quits and restores the screen', async () => {
        const t = topOnTerminal(['--interval', '0.3', '--config', relay.configFile]);
        await t.waitOut(/primary-mock +3 /, 'the providers');
        assert.ok(t.out.includes('\x1b[?1049h\x1b[?25l'), 'the alternate screen, the cursor hidden');
        t.child.stdin.write('v');
        await t.waitOut(/view: clients/, 'the clients view');
        t.child.stdin.write('s');
        await t.waitOut(/view: clients, sort: req\/s/, 'the next sort column');
        t.child.stdin.write('\t');
        await t.waitOut(/view: workers[^]*SLOT +PID +GEN +STATE/, 'the workers view');
        t.child.stdin.write('p');
        await t.waitOut(/\[paused\]/, 'the pause');
        const quitAt = Date.now();
        t.child.stdin.write('q');
        const code = await t.exitWithin(3000);
        assert.equal(code, 0, t.out.slice(-500));
        assert.ok(Date.now() - quitAt < 2000, 'quits at once');
        assert.ok(t.out.endsWith(LEAVE_SCREEN), `the screen restored: ${JSON.stringify(t.out.slice(-40))}`);
    });

    it('on a terminal: Ctrl-C stops it with the screen restored', async () => {
        const t = topOnTerminal(['--config', relay.configFile]);
        await t.waitOut(/primary-mock/, 'the providers');
        t.child.stdin.write('\x03'); // the terminal turns it into SIGINT
        const code = await t.exitWithin(3000);
        assert.equal(code, 130, t.out.slice(-500));
        assert.ok(t.out.endsWith(LEAVE_SCREEN), `the screen restored: ${JSON.stringify(t.out.slice(-40))}`);
    });
});
