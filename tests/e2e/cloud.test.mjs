// The official SDK and the Claude Code CLI through cc-relay to each cloud provider's fake
// (tests/mocks/cloud.mjs): Bedrock with SigV4, Vertex AI with a service-account key, Foundry with
// Entra ID. The clients speak plain Anthropic to the relay; the relay speaks each cloud's wire.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';

import { describeRun, runClaude } from '../lib/claude.mjs';
import { startRelay } from '../lib/relay.mjs';
import { CANNED_TEXT, MOCK_USAGE } from '../mocks/backend.mjs';
import { makeServiceAccount, startBedrock, startFoundry, startGoogle } from '../mocks/cloud.mjs';

const PROXY_KEY = 'sk-relay-cloud-e2e';
const AWS = { accessKeyId: 'AKIDCLOUDE2E0000001', secretAccessKey: 'cloud-e2e-secret-access-key' };
const CLEAN_ENV = { AWS_BEARER_TOKEN_BEDROCK: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '', GOOGLE_APPLICATION_CREDENTIALS: '', AZURE_AUTHORITY_HOST: '' };

// Each cloud: start its fake, and the provider entry that points the relay at it.
const CLOUDS = {
    bedrock: async () => {
        const fake = await startBedrock(AWS);
        return { fake, provider: { name: 'bedrock', type: 'bedrock', enabled: true, base_url: fake.url, aws_region: 'us-east-1',
            aws_access_key_id: AWS.accessKeyId, aws_secret_access_key: AWS.secretAccessKey } };
    },
    vertex: async (dir) => {
        const sa = makeServiceAccount('');
        const fake = await startGoogle({ publicKey: sa.publicKey, clientEmail: sa.key.client_email });
        const file = path.join(dir, 'sa.json');
        await writeFile(file, JSON.stringify({ ...sa.key, token_uri: `${fake.url}/token` }));
        return { fake, provider: { name: 'vertex', type: 'vertex', enabled: true, base_url: fake.url, gcp_project_id: 'proj-1',
            gcp_region: 'us-east5', gcp_credentials_file: file } };
    },
    foundry: async () => {
        const fake = await startFoundry({ tenant: 't1', clientId: 'app', clientSecret: 'entra-e2e-secret' });
        return { fake, provider: { name: 'foundry', type: 'foundry', enabled: true, base_url: `${fake.url}/anthropic`,
            azure_tenant_id: 't1', azure_client_id: 'app', azure_client_secret: 'entra-e2e-secret', azure_authority_host: fake.url } };
    },
};

for (const [cloud, start] of Object.entries(CLOUDS)) {
    describe(`clients through cc-relay to ${cloud}`, { timeout: 240_000 }, () => {
        let dir;
        let fake;
        let relay;
        before(async () => {
            dir = await mkdtemp(path.join(tmpdir(), `cc-relay-e2e-${cloud}-`));
            const s = await start(dir);
            fake = s.fake;
            relay = await startRelay({ server: { auth: { api_key: PROXY_KEY } }, providers: [s.provider] }, { env: CLEAN_ENV });
        });
        after(async () => {
            await relay?.stop();
            await fake?.close();
            await rm(dir, { recursive: true, force: true });
        });

        it('@anthropic-ai/sdk: messages.create and messages.stream', async () => {
            const client = new Anthropic({ baseURL: relay.url, apiKey: PROXY_KEY, maxRetries: 0, timeout: 20_000 });
            const msg = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64,
                messages: [{ role: 'user', content: 'say hi' }] });
            assert.equal(msg.content[0].text, CANNED_TEXT);
            const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 64,
                messages: [{ role: 'user', content: 'say hi' }] });
            const texts = [];
            stream.on('text', (t) => texts.push(t));
            const final = await stream.finalMessage();
            assert.equal(texts.join(''), CANNED_TEXT);
            assert.equal(final.usage.output_tokens, MOCK_USAGE.output_tokens);
        });

        it('claude -p prints the answer', async () => {
            const run = await runClaude({ baseUrl: relay.url, env: { ANTHROPIC_API_KEY: PROXY_KEY }, timeoutMs: 120_000 });
            const why = describeRun(run) + `\n--- relay log (tail) ---\n${relay.logs().slice(-3000)}`;
            assert.equal(run.timedOut, false, why);
            assert.equal(run.code, 0, why);
            assert.ok(run.stdout.includes(CANNED_TEXT), why);
            assert.ok(fake.requests.length >= 1, why);
        });
    });
}
