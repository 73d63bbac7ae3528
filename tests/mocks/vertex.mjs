// A fake of Google Vertex AI and of Google's OAuth 2.0 token endpoint, on one server, for the
// black-box tests (docs: /work/shared/reference/anthropic-wire.md §6):
//
//   const sa = makeServiceAccount();                       // RSA key pair + key-file object
//   const vertex = await startVertex({ serviceAccount: sa, authorizedUser, expiresIn: 3600 });
//   await writeFile(file, JSON.stringify(sa.keyFile(vertex.tokenUri)));
//
//   POST /token   grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>: the RS256
//                 signature verified with the service account's public key, then iss, aud (= the
//                 token URI), scope, iat, exp; or grant_type=refresh_token with the authorized
//                 user's client_id, client_secret and refresh_token. Answers
//                 {"access_token","expires_in","token_type":"Bearer"}; refusals are 400
//                 {"error":"invalid_grant","error_description":…}.
//   POST /v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict
//        | :streamRawPredict | models/count-tokens:rawPredict
//                 need `Authorization: Bearer <a token this fake issued and that has not expired>`
//                 (else 401 UNAUTHENTICATED) and a body with anthropic_version
//                 "vertex-2023-10-16". Non-stream: the Message JSON; stream: Anthropic SSE;
//                 count-tokens: {"input_tokens": N}.
//
// fake.tokenExchanges: the token requests granted; fake.exchanges: their records.
// Each Vertex record gets: project, region, model, verb, token (the bearer it carried).
// Modes: { kind: 'google-error', status, body } (any body, e.g. from googleError()),
//        { kind: 'error', code, status: 'RESOURCE_EXHAUSTED', message, array },
//        { kind: 'token-error', status, body } for /token.

import crypto from 'node:crypto';

import { MOCK_COUNT_TOKENS, messageBody, sseEvents } from './backend.mjs';
import { formFields, sendJson, sleep, startFake } from './fake-http.mjs';

export const VERTEX_VERSION = 'vertex-2023-10-16';
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

// ---------------------------------------------------------------------------------------------
// JWT (RS256)

const b64url = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');

/** A service account: its key pair and keyFile(tokenUri), the JSON object of its key file. */
export function makeServiceAccount({ email = 'relay-test@proj-1.iam.gserviceaccount.com', keyId = 'kid-test-1' } = {}) {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
    return {
        email,
        keyId,
        privateKey,
        publicKey,
        privateKeyPem: pem,
        keyFile: (tokenUri) => ({
            type: 'service_account',
            project_id: 'proj-1',
            private_key_id: keyId,
            private_key: pem,
            client_email: email,
            client_id: '100000000000000000001',
            auth_uri: 'https://accounts.google.com/o/oauth2/auth',
            token_uri: tokenUri,
        }),
    };
}

/** An RS256 JWT over `claims` (header {alg, typ, kid}). */
export function signJwt(claims, privateKey, kid) {
    const input = `${b64url({ alg: 'RS256', typ: 'JWT', ...(kid ? { kid } : {}) })}.${b64url(claims)}`;
    return `${input}.${crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** The claims a service account's assertion carries, as Google's client libraries make them. */
export function assertionClaims({ email, tokenUri, nowS = Math.floor(Date.now() / 1000), lifetimeS = 3600 }) {
    return { iss: email, scope: CLOUD_PLATFORM_SCOPE, aud: tokenUri, iat: nowS, exp: nowS + lifetimeS };
}

/**
 * Verifies a JWT-bearer assertion as Google's token endpoint does: null when valid, else why not.
 * Returns the decoded parts through `out` ({ header, claims }) when given.
 */
export function verifyJwt(assertion, publicKey, { iss, aud, kid, scope = CLOUD_PLATFORM_SCOPE, nowS = Math.floor(Date.now() / 1000), out } = {}) {
    const parts = String(assertion ?? '').split('.');
    if (parts.length !== 3) return 'Invalid JWT: not three parts';
    let header;
    let claims;
    try {
        header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
        claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
        return 'Invalid JWT: header or claims are not JSON';
    }
    if (out) Object.assign(out, { header, claims });
    if (header.alg !== 'RS256') return `Invalid JWT: alg ${header.alg}`;
    if (kid !== undefined && header.kid !== undefined && header.kid !== kid) return `Invalid JWT: unknown kid ${header.kid}`;
    const ok = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, Buffer.from(parts[2], 'base64url'));
    if (!ok) return 'Invalid JWT Signature.';
    if (claims.iss !== iss) return `Invalid JWT: iss ${claims.iss}`;
    if (claims.aud !== aud) return `Invalid JWT: aud ${claims.aud}, expected ${aud}`;
    if (claims.scope !== scope) return `Invalid JWT: scope ${claims.scope}`;
    if (!Number.isInteger(claims.iat) || !Number.isInteger(claims.exp)) return 'Invalid JWT: iat and exp must be integers';
    if (claims.iat > nowS + 300 || claims.exp < nowS - 300) return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.';
    if (claims.exp - claims.iat > 3600 || claims.exp <= claims.iat) return 'Invalid JWT: exp must be at most 3600 s after iat';
    return null;
}

/** Google's error envelope; `array` wraps it in a list, as Vertex sometimes does. */
export function googleError(code, status, message, { array = false } = {}) {
    const e = { error: { code, message, status } };
    return array ? [e] : e;
}

// ---------------------------------------------------------------------------------------------
// The fake

const ROUTE = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/anthropic\/models\/([^/:]+):(rawPredict|streamRawPredict)$/;

/**
 * Options: serviceAccount (from makeServiceAccount), authorizedUser {client_id, client_secret,
 * refresh_token}, expiresIn (s, lifetime of issued tokens, changeable with setExpiresIn),
 * project ('proj-1'), region ('us-east5'), events (text deltas per stream, 4).
 */
export async function startVertex({
    serviceAccount, authorizedUser, expiresIn = 3600, project = 'proj-1', region = 'us-east5', events = 4,
} = {}) {
    const exchanges = [];
    const tokens = new Map(); // access token → expiry (ms)
    let lifetime = expiresIn;
    let fake;
    fake = await startFake(async (rec, res, spec) => {
        if (rec.path === '/token') return token(rec, res, spec);

        const bearer = /^Bearer (.+)$/.exec(rec.headers.authorization ?? '')?.[1];
        rec.token = bearer;
        if (!bearer || !(tokens.get(bearer) > Date.now())) {
            return sendJson(res, 401, googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. ' +
                'Expected OAuth 2 access token, login cookie or other valid authentication credential.'),
            { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' });
        }
        const m = rec.method === 'POST' ? ROUTE.exec(rec.path) : null;
        if (!m) return sendJson(res, 404, googleError(404, 'NOT_FOUND', `The requested URL ${rec.path} was not found on this server.`));
        [, rec.project, rec.region, rec.model, rec.verb] = m;
        if (rec.project !== project || rec.region !== region) {
            return sendJson(res, 403, googleError(403, 'PERMISSION_DENIED',
                `Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/${rec.project}/locations/${rec.region}/publishers/anthropic/models/${rec.model}' (or it may not exist).`));
        }
        if (spec?.kind === 'google-error') return sendJson(res, spec.status, spec.body);
        if (spec?.kind === 'error') {
            return sendJson(res, spec.code, googleError(spec.code, spec.status, spec.message, spec));
        }
        if (rec.json?.anthropic_version !== VERTEX_VERSION) {
            return sendJson(res, 400, { type: 'error', error: { type: 'invalid_request_error',
                message: `anthropic_version: Input should be '${VERTEX_VERSION}'` } });
        }
        if (rec.model === 'count-tokens') {
            if (rec.verb !== 'rawPredict') return sendJson(res, 404, googleError(404, 'NOT_FOUND', 'count-tokens takes rawPredict'));
            if (typeof rec.json.model !== 'string') {
                return sendJson(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'model: Field required' } });
            }
            return sendJson(res, 200, { input_tokens: spec?.inputTokens ?? MOCK_COUNT_TOKENS });
        }
        if (rec.verb === 'rawPredict') return sendJson(res, 200, messageBody(rec.model));
        // streamRawPredict: ordinary SSE, each event in two writes.
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
        res.flushHeaders();
        for (const e of sseEvents(rec.model, { events })) {
            if (res.destroyed) return;
            const b = Buffer.from(e);
            await new Promise((r) => res.write(b.subarray(0, b.length >> 1), r));
            await sleep(2);
            await new Promise((r) => res.write(b.subarray(b.length >> 1), r));
        }
        res.end();
    });

    function token(rec, res, spec) {
        if (spec?.kind === 'token-error') return sendJson(res, spec.status ?? 400, spec.body);
        const form = formFields(rec);
        rec.form = form;
        let why;
        if (!/^application\/x-www-form-urlencoded\b/.test(rec.headers['content-type'] ?? '')) {
            why = `content-type ${rec.headers['content-type']}`;
        } else if (form.grant_type === JWT_BEARER) {
            rec.jwt = {};
            why = serviceAccount
                ? verifyJwt(form.assertion, serviceAccount.publicKey, { iss: serviceAccount.email, aud: fake.tokenUri, kid: serviceAccount.keyId, out: rec.jwt })
                : 'no service account';
        } else if (form.grant_type === 'refresh_token') {
            why = authorizedUser && form.client_id === authorizedUser.client_id && form.client_secret === authorizedUser.client_secret &&
                form.refresh_token === authorizedUser.refresh_token ? null : 'Bad Request';
        } else {
            why = `Invalid grant_type: ${form.grant_type}`;
        }
        if (why) return sendJson(res, 400, { error: 'invalid_grant', error_description: why });
        const accessToken = `ya29.fake-${crypto.randomBytes(12).toString('hex')}`;
        tokens.set(accessToken, Date.now() + lifetime * 1000);
        exchanges.push(rec);
        rec.issued = accessToken;
        return sendJson(res, 200, { access_token: accessToken, expires_in: lifetime, token_type: 'Bearer' });
    }

    fake.tokenUri = `${fake.url}/token`;
    fake.exchanges = exchanges;
    const resetRequests = fake.reset;
    /** Forget requests, exchanges and the mode; issued tokens stay valid (a relay may hold one). */
    fake.reset = () => { resetRequests(); exchanges.length = 0; };
    Object.defineProperty(fake, 'tokenExchanges', { get: () => exchanges.length });
    fake.setExpiresIn = (s) => { lifetime = s; };
    /** Every token issued since the start (reset() does not forget them), oldest first. */
    fake.issuedTokens = () => [...tokens.keys()];
    /** Records of Vertex calls (everything but /token). */
    fake.calls = () => fake.requests.filter((r) => r.path !== '/token');
    return fake;
}
