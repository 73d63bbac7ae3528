// A start that fails says why on the terminal (issue 7): with logging.output set to a file, the
// errors before the workers are up go to stderr as well, not only to the file.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

import { configText, runCli, uniqueShmName } from '../lib/process.mjs';

describe('start-up errors', { timeout: 30_000 }, () => {
    it('port in use with logging.output set to a file: exit 1 and the error on stderr and in the file', async (t) => {
        const taken = net.createServer();
        await new Promise((resolve, reject) => { taken.once('error', reject); taken.listen(0, '127.0.0.1', resolve); });
        t.after(() => new Promise((r) => taken.close(r)));
        const { port } = taken.address();
        const dir = await mkdtemp(path.join(tmpdir(), 'cc-relay-startup-'));
        t.after(() => rm(dir, { recursive: true, force: true }));
        const logFile = path.join(dir, 'relay.log');
        const configFile = path.join(dir, 'config.yaml');
        await writeFile(configFile, configText({
            server: { listen: `127.0.0.1:${port}`, shm_name: uniqueShmName(), workers: 1 },
            logging: { output: logFile },
            providers: [{ name: 'a', type: 'anthropic', enabled: true }],
        }));

        const r = await runCli(['serve', '--config', configFile], { timeoutMs: 10_000 });
        assert.equal(r.code, 1, `exit ${r.code}\n${r.stdout}${r.stderr}`);
        const fileText = await readFile(logFile, 'utf8');
        assert.match(fileText, new RegExp(`127\\.0\\.0\\.1:${port}`), `the file has the error: ${fileText}`);
        const errorLine = fileText.split('\n').find((l) => l.includes(`:${port}`)).replace(/^.*\] /, '');
        assert.ok(r.stderr.includes(errorLine), `stderr has the error "${errorLine}": ${JSON.stringify(r.stderr)}`);
    });
});
