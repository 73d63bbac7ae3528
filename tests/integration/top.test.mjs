// `cc-relay top`: plain frames when not on a terminal, and a live screen under a pseudo-terminal
// (util-linux `script`) that shows the providers, switches views and quits on `q`, leaving the
// terminal as it found it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';

import { messagesBody, postJson } from '../lib/http.mjs';
import { runCli } from '../lib/process.mjs';
import { RELAY_BIN, startRelay } from '../lib/relay.mjs';
import { startBackend } from '../mocks/backend.mjs';

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

    it('--once without a terminal prints one plain frame with the providers', async () => {
        const r = await runCli(['top', '--once', '--config', relay.configFile]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /PROVIDER/);
        assert.match(r.stdout, /primary-mock/);
        assert.match(r.stdout, /second-mock/);
        assert.ok(!r.stdout.includes('\x1b'), 'no escape sequences off a terminal');
    });

    it('on a terminal: the providers, `v` switches to clients, `q` quits and restores the screen', async () => {
        const cmd = `${RELAY_BIN} top --interval 0.3 --config ${relay.configFile}`;
        const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm' } });
        let out = '';
        child.stdout.on('data', (d) => { out += d.toString('utf8'); });
        const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
        const waitOut = async (re, what) => {
            const deadline = Date.now() + 5000;
            while (!re.test(out)) {
                if (Date.now() > deadline) assert.fail(`${what} not on the screen:\n${out}`);
                await new Promise((r) => setTimeout(r, 50));
            }
        };
        await waitOut(/primary-mock/, 'the providers');
        assert.ok(out.includes('\x1b[?1049h'), 'the alternate screen');
        child.stdin.write('v');
        await waitOut(/view: clients/, 'the clients view');
        const quitAt = Date.now();
        child.stdin.write('q');
        const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 3000))]);
        if (code === 'timeout') child.kill('SIGKILL');
        assert.equal(code, 0, out.slice(-500));
        assert.ok(Date.now() - quitAt < 2000, 'quits at once');
        assert.ok(out.trimEnd().endsWith('\x1b[?25h\x1b[?1049l'), `the screen restored: ${JSON.stringify(out.slice(-40))}`);
    });
});
