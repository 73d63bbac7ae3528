// Clients over server.tls: the SDK (in a process of its own, trusting the test CA through
// NODE_EXTRA_CA_CERTS as a user would) and Claude Code, both against https://localhost.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { describeRun, runClaude } from '../lib/claude.mjs';
import { startRelay } from '../lib/relay.mjs';
import { CANNED_TEXT, startBackend } from '../mocks/backend.mjs';
import { makeCerts } from '../mocks/certs.mjs';

const run = promisify(execFile);
const testsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PROXY_KEY = 'sk-relay-tls-e2e';

describe('clients over HTTPS (server.tls)', { timeout: 300_000 }, () => {
    let backend;
    let relay;
    let certs;
    let baseUrl;
    before(async () => {
        certs = await makeCerts();
        backend = await startBackend();
        relay = await startRelay({
            server: { auth: { api_key: PROXY_KEY },
                tls: { listen: '127.0.0.1:0', cert_file: certs.certFile, key_file: certs.keyFile } },
            providers: [{ name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url }],
        });
        const port = (await relay.waitForLog(/listening on https:\/\/[^\s]+:(\d+)/))[1];
        baseUrl = `https://localhost:${port}`;
    });
    after(async () => {
        await relay?.stop();
        await backend?.close();
        await certs?.cleanup();
    });

    it('@anthropic-ai/sdk: create and stream', async () => {
        const script = `
            import Anthropic from '@anthropic-ai/sdk';
            const client = new Anthropic({ baseURL: process.env.BASE, apiKey: process.env.KEY, maxRetries: 0 });
            const msg = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 16,
                messages: [{ role: 'user', content: 'hi' }] });
            const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 16,
                messages: [{ role: 'user', content: 'hi' }] });
            const final = await stream.finalMessage();
            console.log(JSON.stringify({ create: msg.content[0].text, stream: final.content[0].text }));`;
        const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
            cwd: testsDir, timeout: 60_000,
            env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: certs.caFile, BASE: baseUrl, KEY: PROXY_KEY },
        });
        const out = JSON.parse(stdout.trim().split('\n').at(-1));
        assert.equal(out.create, CANNED_TEXT);
        assert.ok(out.stream.length > 0);
        assert.ok(backend.requests.some((r) => r.json?.stream === true), 'the stream went upstream as a stream');
    });

    it('claude -p over https prints the mock answer', async () => {
        const r = await runClaude({ baseUrl, env: { ANTHROPIC_API_KEY: PROXY_KEY, NODE_EXTRA_CA_CERTS: certs.caFile } });
        const why = describeRun(r) + `\n--- relay log (tail) ---\n${relay.logs().slice(-2000)}`;
        assert.equal(r.code, 0, why);
        assert.ok(r.stdout.includes(CANNED_TEXT), why);
    });
});
