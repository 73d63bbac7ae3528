// A fake of Microsoft Foundry's Anthropic endpoint and of the Entra ID token endpoint, on one
// server, for the black-box tests (docs: /work/shared/reference/anthropic-wire.md §7):
//
//   const foundry = await startFoundry({ key: 'az-key' });                      // API key
//   const foundry = await startFoundry({ tenant, clientId, clientSecret });     // Entra ID
//   provider base_url: `${foundry.url}/anthropic`; azure_authority_host: foundry.url
//
//   POST /{tenant}/oauth2/v2.0/token  form grant_type=client_credentials, client_id,
//        client_secret, scope=https://ai.azure.com/.default → {"token_type":"Bearer",
//        "expires_in", "ext_expires_in", "access_token"}; refusals 400/401 as Entra answers them
//   POST /anthropic/v1/messages, /anthropic/v1/messages/count_tokens — plain Anthropic: a Message
//        JSON, SSE when "stream": true, {"input_tokens": N}. Authenticated by `x-api-key` (the
//        key mode) or `Authorization: Bearer <an unexpired token this fake issued>`; else 401.
//
// fake.tokenRequests: the token requests granted (records with .form). Modes:
//   { kind: 'error', status, errorType, message }  an Anthropic-shaped error (backend.mjs's)
//   { kind: 'token-error', status, body }          the token endpoint refuses

import crypto from 'node:crypto';

import { MOCK_COUNT_TOKENS, errorBody, messageBody, sseEvents } from './backend.mjs';
import { formFields, sendJson, sleep, startFake } from './fake-http.mjs';

export const FOUNDRY_SCOPE = 'https://ai.azure.com/.default';

export async function startFoundry({
    key, tenant = 'tenant-1', clientId = 'client-1', clientSecret = 'secret-1', expiresIn = 3600, events = 4,
} = {}) {
    const granted = [];
    const tokens = new Map(); // access token → expiry (ms)
    const fake = await startFake(async (rec, res, spec) => {
        if (rec.path.endsWith('/oauth2/v2.0/token')) {
            if (spec?.kind === 'token-error') return sendJson(res, spec.status ?? 400, spec.body);
            const form = formFields(rec);
            rec.form = form;
            if (rec.path !== `/${tenant}/oauth2/v2.0/token`) {
                return sendJson(res, 400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${rec.path.split('/')[1]}' not found.` });
            }
            if (form.grant_type !== 'client_credentials') {
                return sendJson(res, 400, { error: 'unsupported_grant_type', error_description: `AADSTS70003: grant_type ${form.grant_type}` });
            }
            if (form.scope !== FOUNDRY_SCOPE) {
                return sendJson(res, 400, { error: 'invalid_scope', error_description: `AADSTS1002012: The provided value for scope ${form.scope} is not valid.` });
            }
            if (form.client_id !== clientId) {
                return sendJson(res, 400, { error: 'unauthorized_client', error_description: `AADSTS700016: Application with identifier '${form.client_id}' was not found.` });
            }
            if (form.client_secret !== clientSecret) {
                return sendJson(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
            }
            const accessToken = `eyJ0eXAiOiJKV1Qi.fake-entra.${crypto.randomBytes(12).toString('hex')}`;
            tokens.set(accessToken, Date.now() + expiresIn * 1000);
            rec.issued = accessToken;
            granted.push(rec);
            return sendJson(res, 200, { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: accessToken });
        }

        const bearer = /^Bearer (.+)$/.exec(rec.headers.authorization ?? '')?.[1];
        const authed = key !== undefined ? rec.headers['x-api-key'] === key : tokens.get(bearer) > Date.now();
        if (!authed) {
            return sendJson(res, 401, { type: 'error', error: { type: 'authentication_error',
                message: 'Access denied due to invalid subscription key or wrong API endpoint.' } });
        }
        if (spec?.kind === 'error') {
            const status = spec.status ?? 500;
            return sendJson(res, status, errorBody(status, spec.errorType, spec.message),
                status === 429 ? { 'retry-after': '3' } : {});
        }
        if (rec.method !== 'POST') return sendJson(res, 404, errorBody(404, 'not_found_error', 'Not found'));
        if (rec.path === '/anthropic/v1/messages/count_tokens') {
            return sendJson(res, 200, { input_tokens: spec?.inputTokens ?? MOCK_COUNT_TOKENS });
        }
        if (rec.path !== '/anthropic/v1/messages') return sendJson(res, 404, errorBody(404, 'not_found_error', `Not found: ${rec.path}`));
        if (!rec.json?.stream) return sendJson(res, 200, messageBody(rec.json?.model));
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
        res.flushHeaders();
        for (const e of sseEvents(rec.json.model, { events })) {
            if (res.destroyed) return;
            await new Promise((r) => res.write(e, r));
            await sleep(2);
        }
        res.end();
    });
    fake.tokenRequests = granted;
    Object.defineProperty(fake, 'tokensIssued', { get: () => granted.length });
    /** Records of the Anthropic calls (everything but the token endpoint). */
    fake.calls = () => fake.requests.filter((r) => r.path.startsWith('/anthropic/'));
    return fake;
}
