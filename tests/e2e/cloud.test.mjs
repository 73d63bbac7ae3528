// The official SDK and the Claude Code CLI through cc-relay to each cloud's fake: Bedrock with
// SigV4 (tests/mocks/bedrock.mjs), Vertex AI with a service-account key (vertex.mjs), Foundry with
// Entra ID (foundry.mjs). The clients speak plain Anthropic to the relay; the relay speaks each
// cloud's wire, and each fake refuses what its cloud would refuse (a bad signature or token, a
// body with `model`, Claude Code's billing line on Bedrock).

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';

import { describeRun, runClaude } from '../lib/claude.mjs';
import { CLEAN_ENV, assertNotLogged } from '../lib/cloud.mjs';
import { startRelay } from '../lib/relay.mjs';
import { CANNED_TEXT, MOCK_USAGE } from '../mocks/backend.mjs';
import { startBedrock } from '../mocks/bedrock.mjs';
import { startFoundry } from '../mocks/foundry.mjs';
import { makeServiceAccount, startVertex } from '../mocks/vertex.mjs';

const PROXY_KEY = 'sk-relay-cloud-e2e';

// Each cloud: its fake, the provider entry pointing the relay at it, the secrets that must stay
// out of the log, and which recorded requests are calls of the model API.
const CLOUDS = {
    bedrock: async () => {
        const aws = { accessKeyId: 'AKIDCLOUDE2E0000001', secretAccessKey: 'cloud-e2e/secret+access-key', sessionToken: 'e2e-session-token-xyz' };
        const fake = await startBedrock(aws);
        return {
            fake,
            provider: { name: 'bedrock', type: 'bedrock', enabled: true, base_url: fake.url, aws_region: 'us-east-1',
                aws_access_key_id: aws.accessKeyId, aws_secret_access_key: aws.secretAccessKey, aws_session_token: aws.sessionToken },
            secrets: () => [aws.secretAccessKey, aws.sessionToken],
            calls: () => fake.requests,
            accepted: (rec) => rec.authError === null,
        };
    },
    vertex: async (dir) => {
        const sa = makeServiceAccount();
        const fake = await startVertex({ serviceAccount: sa });
        const file = path.join(dir, 'sa.json');
        await writeFile(file, JSON.stringify(sa.keyFile(fake.tokenUri)));
        return {
            fake,
            provider: { name: 'vertex', type: 'vertex', enabled: true, base_url: fake.url, gcp_project_id: 'proj-1',
                gcp_region: 'us-east5', gcp_credentials_file: file },
            secrets: () => [sa.privateKeyPem.split('\n')[3], ...fake.issuedTokens()],
            calls: () => fake.calls(),
            accepted: (rec) => rec.token !== undefined && rec.responseStatus !== 401,
        };
    },
    foundry: async () => {
        const entra = { tenant: 't1', clientId: 'app', clientSecret: 'entra-e2e~secret' };
        const fake = await startFoundry(entra);
        return {
            fake,
            provider: { name: 'foundry', type: 'foundry', enabled: true, base_url: `${fake.url}/anthropic`,
                azure_tenant_id: entra.tenant, azure_client_id: entra.clientId, azure_client_secret: entra.clientSecret,
                azure_authority_host: fake.url },
            secrets: () => [entra.clientSecret, ...fake.tokenRequests.map((r) => r.issued)],
            calls: () => fake.calls(),
            accepted: (rec) => rec.responseStatus !== 401,
        };
    },
};

for (const [cloud, start] of Object.entries(CLOUDS)) {
    describe(`clients through cc-relay to ${cloud}`, { timeout: 240_000 }, () => {
        let dir;
        let c;
        let relay;
        before(async () => {
            dir = await mkdtemp(path.join(tmpdir(), `cc-relay-e2e-${cloud}-`));
            c = await start(dir);
            relay = await startRelay({ server: { auth: { api_key: PROXY_KEY } }, logging: { level: 'debug' }, providers: [c.provider] },
                { env: CLEAN_ENV });
        });
        after(async () => {
            await relay?.stop();
            await c?.fake.close();
            await rm(dir, { recursive: true, force: true });
        });
        const why = () => `\n--- ${cloud} calls ---\n${c.calls().map((r) => `${r.method} ${r.url} -> ${r.responseStatus}`).join('\n')}` +
            `\n--- relay log (tail) ---\n${relay.logs().slice(-3000)}`;

        it('@anthropic-ai/sdk: messages.create and messages.stream', async () => {
            c.fake.reset();
            const client = new Anthropic({ baseURL: relay.url, apiKey: PROXY_KEY, maxRetries: 0, timeout: 20_000 });
            const msg = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64,
                messages: [{ role: 'user', content: 'say hi' }] });
            assert.equal(msg.content[0].text, CANNED_TEXT);
            assert.equal(msg.usage.output_tokens, MOCK_USAGE.output_tokens);
            const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 64,
                messages: [{ role: 'user', content: 'say hi' }] });
            const texts = [];
            stream.on('text', (t) => texts.push(t));
            const final = await stream.finalMessage();
            assert.equal(texts.join(''), CANNED_TEXT);
            assert.equal(final.content[0].text, CANNED_TEXT);
            assert.equal(final.stop_reason, 'end_turn');
            assert.equal(final.usage.output_tokens, MOCK_USAGE.output_tokens);
            assert.equal(final.usage.input_tokens, MOCK_USAGE.input_tokens);
            const calls = c.calls();
            assert.equal(calls.length, 2, why());
            assert.ok(calls.every(c.accepted), `every call authenticated${why()}`);
            assert.ok(calls.every((r) => r.responseStatus === 200), why());
        });

        it('claude -p prints the answer', async () => {
            c.fake.reset();
            const run = await runClaude({ baseUrl: relay.url, env: { ANTHROPIC_API_KEY: PROXY_KEY }, timeoutMs: 120_000 });
            const detail = describeRun(run) + why();
            assert.equal(run.timedOut, false, detail);
            assert.equal(run.code, 0, detail);
            assert.ok(run.stdout.includes(CANNED_TEXT), detail);
            const calls = c.calls();
            assert.ok(calls.length >= 1, detail);
            assert.ok(calls.every(c.accepted), `every call authenticated${detail}`);
            assert.ok(calls.some((r) => r.responseStatus === 200), detail);
            for (const r of calls) {
                assert.ok(!JSON.stringify(r.headers).includes(PROXY_KEY), 'the proxy key stays in the proxy');
            }
        });

        it('no secret reaches the relay log', () => {
            assertNotLogged(relay, [...c.secrets(), PROXY_KEY]);
        });
    });
}
