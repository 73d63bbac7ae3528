// The cloud fakes themselves (tests/mocks/bedrock.mjs, vertex.mjs, foundry.mjs), checked without
// the relay: the SigV4 verifier against AWS's published test-suite vectors and an independent
// signer, the event-stream frames against an independent decoder (CRCs recomputed bit by bit),
// the Google token endpoint against JWTs signed here, Entra ID's client-credentials grant.
// A relay test that passes against a wrong fake proves nothing; these keep the fakes honest.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { request } from '../lib/http.mjs';
import { CANNED_TEXT, MOCK_COUNT_TOKENS, MOCK_USAGE } from '../mocks/backend.mjs';
import {
    SIGNATURE_MISMATCH, canonicalUri, chunkFrame, crc32, crc32Table, encodeFrame, exceptionFrame, expectedSse,
    sigv4, startBedrock, verifySigV4,
} from '../mocks/bedrock.mjs';
import { FOUNDRY_SCOPE, startFoundry } from '../mocks/foundry.mjs';
import {
    CLOUD_PLATFORM_SCOPE, JWT_BEARER, assertionClaims, googleError, makeServiceAccount, signJwt, startVertex, verifyJwt,
} from '../mocks/vertex.mjs';

// ---------------------------------------------------------------------------------------------
// Independent implementations (deliberately written differently from the fakes')

/** CRC32 bit by bit, no table. */
function crcBitwise(buf) {
    let c = ~0;
    for (const b of buf) {
        c ^= b;
        for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xEDB88320 & -(c & 1));
    }
    return ~c >>> 0;
}

/**
 * Reads event-stream messages from `buf`: [{ headers, payload }], throwing on a bad CRC, a header
 * type other than string, or trailing bytes that are not a whole message.
 */
function decodeEventStream(buf) {
    const out = [];
    let off = 0;
    while (off < buf.length) {
        if (buf.length - off < 16) throw new Error(`truncated: ${buf.length - off} bytes left`);
        const total = buf.readUInt32BE(off);
        const hlen = buf.readUInt32BE(off + 4);
        if (off + total > buf.length) throw new Error(`truncated: message of ${total} bytes, ${buf.length - off} left`);
        if (crcBitwise(buf.subarray(off, off + 8)) !== buf.readUInt32BE(off + 8)) throw new Error('prelude CRC');
        if (crcBitwise(buf.subarray(off, off + total - 4)) !== buf.readUInt32BE(off + total - 4)) throw new Error('message CRC');
        const headers = {};
        for (let h = off + 12; h < off + 12 + hlen;) {
            const nameLen = buf[h];
            const name = buf.toString('utf8', h + 1, h + 1 + nameLen);
            if (buf[h + 1 + nameLen] !== 7) throw new Error(`header ${name}: type ${buf[h + 1 + nameLen]}`);
            const len = buf.readUInt16BE(h + 2 + nameLen);
            headers[name] = buf.toString('utf8', h + 4 + nameLen, h + 4 + nameLen + len);
            h += 4 + nameLen + len;
        }
        out.push({ headers, payload: buf.subarray(off + 12 + hlen, off + total - 4) });
        off += total;
    }
    return out;
}

/**
 * A small SigV4 signer for a Bedrock call, following the AWS documentation step by step:
 * canonical path = encodeURIComponent of each wire segment (RFC 3986 extras escaped too).
 */
function signBedrock({ path, body, host, accessKeyId, secret, sessionToken, region = 'us-east-1', amzDate }) {
    const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
    const canonicalPath = path.split('/').map(enc).join('/');
    const bodyHash = crypto.createHash('sha256').update(body).digest('hex');
    const headers = {
        'content-type': 'application/json', host, 'x-amz-content-sha256': bodyHash, 'x-amz-date': amzDate,
        ...(sessionToken ? { 'x-amz-security-token': sessionToken } : {}),
    };
    const names = Object.keys(headers).sort();
    const creq = `POST\n${canonicalPath}\n\n${names.map((n) => `${n}:${headers[n]}\n`).join('')}\n${names.join(';')}\n${bodyHash}`;
    const scope = `${amzDate.slice(0, 8)}/${region}/bedrock/aws4_request`;
    const sts = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${crypto.createHash('sha256').update(creq).digest('hex')}`;
    let key = Buffer.from('AWS4' + secret);
    for (const part of [amzDate.slice(0, 8), region, 'bedrock', 'aws4_request']) key = crypto.createHmac('sha256', key).update(part).digest();
    const signature = crypto.createHmac('sha256', key).update(sts).digest('hex');
    return {
        ...headers,
        authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
    };
}

const amzNow = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

// ---------------------------------------------------------------------------------------------

describe('event-stream frames', () => {
    it('CRC32 gives the IEEE check value for "123456789", with zlib and with the table', () => {
        assert.equal(crc32(Buffer.from('123456789')), 0xCBF43926);
        assert.equal(crc32Table(Buffer.from('123456789')), 0xCBF43926);
        assert.equal(crcBitwise(Buffer.from('123456789')), 0xCBF43926);
        const random = crypto.randomBytes(4096);
        assert.equal(crc32Table(random), crcBitwise(random));
    });

    it('a chunk frame has the 75 header bytes of a captured Bedrock frame and decodes to the event', () => {
        const event = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ünï 漢字 🚀"}}';
        const frame = chunkFrame(event);
        assert.equal(frame.readUInt32BE(4), 0x4b, 'headers_length of :event-type, :content-type, :message-type');
        assert.equal(frame.readUInt32BE(0), frame.length);
        const [msg] = decodeEventStream(frame);
        assert.deepEqual(msg.headers, { ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' });
        const payload = JSON.parse(msg.payload);
        assert.deepEqual(Object.keys(payload), ['bytes', 'p']);
        assert.equal(Buffer.from(payload.bytes, 'base64').toString('utf8'), event);
    });

    it('exception frames carry the type in :exception-type and {"message"} as payload', () => {
        const [msg] = decodeEventStream(exceptionFrame('throttlingException', 'Too many tokens'));
        assert.equal(msg.headers[':message-type'], 'exception');
        assert.equal(msg.headers[':exception-type'], 'throttlingException');
        assert.deepEqual(JSON.parse(msg.payload), { message: 'Too many tokens' });
    });

    it('the independent decoder refuses a flipped bit (so the CRC checks above can fail)', () => {
        const frame = encodeFrame({ ':message-type': 'event' }, 'payload');
        frame[frame.length - 6] ^= 1;
        assert.throws(() => decodeEventStream(frame), /message CRC/);
        const f2 = encodeFrame({ ':message-type': 'event' }, 'payload');
        f2[2] ^= 1;
        assert.throws(() => decodeEventStream(f2), /prelude CRC|truncated/);
    });
});

describe('SigV4 verifier', () => {
    // AWS Signature Version 4 test suite (2015 edition, as shipped in botocore's
    // tests/unit/auth/aws4_testsuite): AKIDEXAMPLE, us-east-1, service "service", 20150830T123600Z.
    const SUITE = { secret: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', amzDate: '20150830T123600Z', region: 'us-east-1', service: 'service' };
    const hostDate = ['Host', 'example.amazonaws.com', 'X-Amz-Date', '20150830T123600Z'];

    it('reproduces post-vanilla: canonical request, string to sign and signature', () => {
        const r = sigv4({ ...SUITE, method: 'POST', path: '/', rawHeaders: hostDate, signedHeaders: ['host', 'x-amz-date'] });
        assert.equal(r.canonicalRequest, 'POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n' +
            'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
        assert.equal(r.stringToSign, 'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n' +
            '553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87');
        assert.equal(r.signature, '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b');
    });

    it('reproduces post-vanilla-query and get-vanilla-query-order-key-case', () => {
        assert.equal(sigv4({ ...SUITE, method: 'POST', path: '/', query: 'Param1=value1', rawHeaders: hostDate,
            signedHeaders: ['host', 'x-amz-date'] }).signature, '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11');
        assert.equal(sigv4({ ...SUITE, method: 'GET', path: '/', query: 'Param2=value2&Param1=value1', rawHeaders: hostDate,
            signedHeaders: ['host', 'x-amz-date'] }).signature, 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500');
    });

    it('encodes the wire path once more: ":" as %3A, "%2F" as %252F', () => {
        assert.equal(canonicalUri('/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke'),
            '/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke');
        assert.equal(canonicalUri('/model/arn:aws:bedrock:us-east-1:123456789012:inference-profile%2Fus.anthropic.x-v1:0/invoke'),
            '/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%252Fus.anthropic.x-v1%3A0/invoke');
    });

    const creds = { accessKeyId: 'AKIDFAKETEST', secretAccessKey: 'fake/secret+key', sessionToken: 'session-token-1' };
    const record = (path, body, headers) => ({
        method: 'POST', path, query: '', body: Buffer.from(body), headers,
        rawHeaders: Object.entries(headers).flat(),
    });

    for (const path of ['/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke',
        '/model/arn:aws:bedrock:us-east-1:123456789012:application-inference-profile%2Fabc123/invoke-with-response-stream']) {
        it(`accepts what an independent signer signs, and only that: ${path.slice(0, 40)}…`, () => {
            const body = '{"anthropic_version":"bedrock-2023-05-31","max_tokens":8,"messages":[]}';
            const headers = signBedrock({ path, body, host: 'h:1', accessKeyId: creds.accessKeyId, secret: creds.secretAccessKey,
                sessionToken: creds.sessionToken, amzDate: amzNow() });
            assert.equal(verifySigV4(record(path, body, headers), creds), null);
            // Wrong secret, changed body, a path signed single-encoded, no session token.
            const wrong = signBedrock({ path, body, host: 'h:1', accessKeyId: creds.accessKeyId, secret: 'other',
                sessionToken: creds.sessionToken, amzDate: amzNow() });
            assert.deepEqual(verifySigV4(record(path, body, wrong), creds),
                { status: 403, type: 'InvalidSignatureException', message: SIGNATURE_MISMATCH });
            const tampered = { ...headers, 'x-amz-content-sha256': crypto.createHash('sha256').update(body + ' ').digest('hex') };
            assert.equal(verifySigV4(record(path, body + ' ', tampered), creds).message, SIGNATURE_MISMATCH);
            assert.equal(verifySigV4(record(path.replace(':', '%3A'), body, headers), creds).message, SIGNATURE_MISMATCH);
            const { 'x-amz-security-token': _, ...noToken } = headers;
            assert.equal(verifySigV4(record(path, body, noToken), creds).type, 'UnrecognizedClientException');
        });
    }
});

describe('fake Bedrock over HTTP', () => {
    const creds = { accessKeyId: 'AKIDFAKEHTTP', secretAccessKey: 'http-secret', sessionToken: 'http-token' };
    let bedrock;
    before(async () => { bedrock = await startBedrock(creds); });
    after(() => bedrock.close());

    const call = (path, bodyObj, signer = {}) => {
        const body = Buffer.from(JSON.stringify(bodyObj));
        const headers = signBedrock({ path, body, host: `127.0.0.1:${bedrock.port}`, accessKeyId: creds.accessKeyId,
            secret: creds.secretAccessKey, sessionToken: creds.sessionToken, amzDate: amzNow(), ...signer });
        return request(bedrock.url + path, { method: 'POST', headers, body });
    };
    const invokeBody = { anthropic_version: 'bedrock-2023-05-31', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };
    const MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';

    it('streams CRC-valid frames, split across writes and several to a write, one Anthropic event each', async () => {
        bedrock.reset();
        const res = await call(`/model/${MODEL}/invoke-with-response-stream`, invokeBody);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.headers['content-type'], 'application/vnd.amazon.eventstream');
        const rec = bedrock.requests[0];
        assert.equal(rec.authError, null);
        assert.equal(rec.modelId, MODEL);
        const frames = decodeEventStream(res.body);
        const events = frames.map((f) => Buffer.from(JSON.parse(f.payload).bytes, 'base64').toString('utf8'));
        assert.deepEqual(events, rec.sent);
        assert.deepEqual(events.map((e) => JSON.parse(e).type), ['message_start', 'content_block_start', 'ping',
            'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_delta',
            'content_block_stop', 'message_delta', 'message_stop']);
        assert.equal(events.map((e) => JSON.parse(e)).filter((e) => e.delta?.text).map((e) => e.delta.text).join(''), CANNED_TEXT);
        assert.equal(JSON.parse(events[8]).usage.output_tokens, MOCK_USAGE.output_tokens);
        // How the bytes were written: some write ends inside a frame, some write holds 2+ frames.
        const writes = rec.responseBytes;
        let at = 0;
        const bounds = new Set([0]);
        for (const f of rec.frames) bounds.add(at += f.length);
        let pos = 0;
        const cuts = writes.map((w) => (pos += w.length));
        assert.ok(cuts.some((c) => !bounds.has(c)), 'a frame is split between writes');
        assert.ok(writes.some((w, i) => [...bounds].filter((b) => b > cuts[i] - w.length && b <= cuts[i]).length >= 2),
            'one write carries two whole frames');
        assert.equal(expectedSse(events.slice(0, 1)), `event: message_start\ndata: ${events[0]}\n\n`);
    });

    it('answers InvokeModel with the Message and CountTokens with inputTokens', async () => {
        const res = await call(`/model/${MODEL}/invoke`, invokeBody);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json().content[0].text, CANNED_TEXT);
        const inner = Buffer.from(JSON.stringify(invokeBody)).toString('base64');
        const count = await call(`/model/${MODEL}/count-tokens`, { input: { invokeModel: { body: inner } } });
        assert.equal(count.status, 200, count.text);
        assert.deepEqual(count.json(), { inputTokens: MOCK_COUNT_TOKENS });
        assert.deepEqual(bedrock.requests.at(-1).innerJson, invokeBody);
    });

    it('refuses a bad signature, a model or stream member, and the billing line, as Bedrock does', async () => {
        const bad = await call(`/model/${MODEL}/invoke`, invokeBody, { secret: 'nope' });
        assert.equal(bad.status, 403);
        assert.equal(bad.headers['x-amzn-errortype'], 'InvalidSignatureException');
        assert.deepEqual(bad.json(), { message: SIGNATURE_MISMATCH });
        for (const [extra, re] of [[{ model: MODEL }, /extraneous key \[model\]/], [{ stream: true }, /extraneous key \[stream\]/],
            [{ system: [{ type: 'text', text: 'x-anthropic-billing-header: cc_version=1;' }] }, /reserved keyword/]]) {
            const res = await call(`/model/${MODEL}/invoke`, { ...invokeBody, ...extra });
            assert.equal(res.status, 400);
            assert.equal(res.headers['x-amzn-errortype'], 'ValidationException');
            assert.match(res.json().message, re);
        }
        const { anthropic_version: _, ...noVersion } = invokeBody;
        assert.match((await call(`/model/${MODEL}/invoke`, noVersion)).json().message, /required key \[anthropic_version\]/);
    });

    it('modes: errors before the stream, an exception after N chunks, a cut frame', async () => {
        bedrock.setMode({ kind: 'error', type: 'ThrottlingException', message: 'Too many requests, please wait before trying again.' });
        const err = await call(`/model/${MODEL}/invoke`, invokeBody);
        assert.equal(err.status, 429);
        assert.equal(err.headers['x-amzn-errortype'], 'ThrottlingException');
        assert.deepEqual(err.json(), { message: 'Too many requests, please wait before trying again.' });

        bedrock.setMode({ kind: 'exception', after: 3, type: 'throttlingException', message: 'slow down' });
        const ex = decodeEventStream((await call(`/model/${MODEL}/invoke-with-response-stream`, invokeBody)).body);
        assert.equal(ex.length, 4);
        assert.equal(ex[3].headers[':exception-type'], 'throttlingException');

        bedrock.setMode({ kind: 'truncate', after: 2 });
        const cut = await call(`/model/${MODEL}/invoke-with-response-stream`, invokeBody);
        assert.throws(() => decodeEventStream(cut.body), /truncated/);
        assert.equal(decodeEventStream(cut.body.subarray(0, cut.body.length - 10)).length, 2);
        bedrock.setMode(undefined);
    });

    it('with an API key: the bearer accepted, anything else refused', async () => {
        const keyed = await startBedrock({ bearer: 'ABSKfakeBedrockKey' });
        try {
            const body = JSON.stringify(invokeBody);
            const ok = await request(`${keyed.url}/model/${MODEL}/invoke`, { method: 'POST', body,
                headers: { authorization: 'Bearer ABSKfakeBedrockKey' } });
            assert.equal(ok.status, 200, ok.text);
            const no = await request(`${keyed.url}/model/${MODEL}/invoke`, { method: 'POST', body,
                headers: { authorization: 'Bearer other' } });
            assert.equal(no.status, 403);
        } finally {
            await keyed.close();
        }
    });
});

describe('fake Google token endpoint and Vertex', () => {
    const sa = makeServiceAccount();
    const user = { client_id: 'cid.apps.googleusercontent.com', client_secret: 'user-secret', refresh_token: '1//refresh' };
    let vertex;
    before(async () => { vertex = await startVertex({ serviceAccount: sa, authorizedUser: user }); });
    after(() => vertex.close());

    const exchange = (form) => request(vertex.tokenUri, { method: 'POST', body: new URLSearchParams(form).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const claims = () => assertionClaims({ email: sa.email, tokenUri: vertex.tokenUri });

    it('grants a token for an assertion signed with the service account key (signed here with createSign)', async () => {
        const input = `${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: sa.keyId })).toString('base64url')}.` +
            Buffer.from(JSON.stringify(claims())).toString('base64url');
        const sig = crypto.createSign('RSA-SHA256').update(input).sign(sa.privateKeyPem).toString('base64url');
        const res = await exchange({ grant_type: JWT_BEARER, assertion: `${input}.${sig}` });
        assert.equal(res.status, 200, res.text);
        const body = res.json();
        assert.match(body.access_token, /^ya29\./);
        assert.equal(body.token_type, 'Bearer');
        assert.equal(body.expires_in, 3600);
        assert.equal(vertex.tokenExchanges, 1);
        assert.equal(vertex.exchanges[0].jwt.claims.scope, CLOUD_PLATFORM_SCOPE);
    });

    it('refuses a tampered, foreign, mis-addressed or stale assertion', async () => {
        const good = signJwt(claims(), sa.privateKey, sa.keyId);
        const [h, , s] = good.split('.');
        const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims(), iss: 'evil@x.iam.gserviceaccount.com' })).toString('base64url')}.${s}`;
        const other = makeServiceAccount();
        const now = Math.floor(Date.now() / 1000);
        for (const [assertion, why] of [
            [tampered, /Invalid JWT Signature/],
            [signJwt(claims(), other.privateKey, sa.keyId), /Invalid JWT Signature/],
            [signJwt({ ...claims(), aud: 'https://oauth2.googleapis.com/token' }, sa.privateKey, sa.keyId), /aud/],
            [signJwt({ ...claims(), scope: 'https://www.googleapis.com/auth/userinfo.email' }, sa.privateKey, sa.keyId), /scope/],
            [signJwt({ ...claims(), iat: now - 7200, exp: now - 3600 }, sa.privateKey, sa.keyId), /short-lived/],
            [signJwt({ ...claims(), exp: now + 7200 }, sa.privateKey, sa.keyId), /3600/],
        ]) {
            const res = await exchange({ grant_type: JWT_BEARER, assertion });
            assert.equal(res.status, 400, res.text);
            assert.equal(res.json().error, 'invalid_grant');
            assert.match(res.json().error_description, why);
        }
        assert.equal(verifyJwt(good, sa.publicKey, { iss: sa.email, aud: vertex.tokenUri, kid: sa.keyId }), null);
    });

    it('grants the refresh-token grant of an authorized user, and only with its secrets', async () => {
        assert.equal((await exchange({ grant_type: 'refresh_token', ...user })).status, 200);
        assert.equal((await exchange({ grant_type: 'refresh_token', ...user, client_secret: 'x' })).status, 400);
    });

    const predict = (suffix, token, body) => request(
        `${vertex.url}/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/${suffix}`,
        { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {}, body });

    it('serves rawPredict, streamRawPredict and count-tokens to a fresh token, 401 to an expired one', async () => {
        vertex.reset();
        const token = (await exchange({ grant_type: 'refresh_token', ...user })).json().access_token;
        const body = { anthropic_version: 'vertex-2023-10-16', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] };
        assert.equal((await predict('claude-sonnet-4-5@20250929:rawPredict', token, body)).json().content[0].text, CANNED_TEXT);
        const stream = await predict('claude-sonnet-4-5@20250929:streamRawPredict', token, { ...body, stream: true });
        assert.match(stream.headers['content-type'], /^text\/event-stream/);
        assert.ok(stream.text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n'));
        const count = await predict('count-tokens:rawPredict', token, { ...body, model: 'claude-sonnet-4-5@20250929' });
        assert.deepEqual(count.json(), { input_tokens: MOCK_COUNT_TOKENS });
        assert.equal((await predict('count-tokens:rawPredict', token, body)).status, 400, 'count-tokens needs the model');
        assert.equal((await predict('claude-sonnet-4-5@20250929:rawPredict', token, { ...body, anthropic_version: undefined })).status, 400);
        assert.equal((await predict('claude-sonnet-4-5@20250929:rawPredict', 'ya29.made-up', body)).status, 401);
        vertex.setExpiresIn(0);
        const stale = (await exchange({ grant_type: 'refresh_token', ...user })).json().access_token;
        vertex.setExpiresIn(3600);
        const res = await predict('claude-sonnet-4-5@20250929:rawPredict', stale, body);
        assert.equal(res.status, 401);
        assert.equal(res.json().error.status, 'UNAUTHENTICATED');
        vertex.setMode(() => ({ kind: 'google-error', status: 429, body: googleError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded', { array: true }) }));
        const quota = await predict('claude-sonnet-4-5@20250929:rawPredict', token, body);
        assert.equal(quota.status, 429);
        assert.deepEqual(quota.json(), [{ error: { code: 429, message: 'Quota exceeded', status: 'RESOURCE_EXHAUSTED' } }]);
        vertex.setMode(undefined);
    });
});

describe('fake Foundry and Entra ID', () => {
    it('issues a client-credentials token for the right form only, and serves Anthropic calls with it', async () => {
        const foundry = await startFoundry({ tenant: 't-1', clientId: 'app-1', clientSecret: 's3cret' });
        try {
            const form = { grant_type: 'client_credentials', client_id: 'app-1', client_secret: 's3cret', scope: FOUNDRY_SCOPE };
            const post = (path, f) => request(foundry.url + path, { method: 'POST', body: new URLSearchParams(f).toString(),
                headers: { 'content-type': 'application/x-www-form-urlencoded' } });
            assert.equal((await post('/t-1/oauth2/v2.0/token', { ...form, client_secret: 'x' })).status, 401);
            assert.equal((await post('/t-1/oauth2/v2.0/token', { ...form, scope: 'https://cognitiveservices.azure.com/.default' })).status, 400);
            assert.equal((await post('/t-2/oauth2/v2.0/token', form)).status, 400);
            const tok = await post('/t-1/oauth2/v2.0/token', form);
            assert.equal(tok.status, 200, tok.text);
            assert.equal(foundry.tokensIssued, 1);
            const { access_token: token } = tok.json();
            const body = { model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] };
            const msg = await request(`${foundry.url}/anthropic/v1/messages`, { method: 'POST', body, headers: { authorization: `Bearer ${token}` } });
            assert.equal(msg.json().content[0].text, CANNED_TEXT);
            const anon = await request(`${foundry.url}/anthropic/v1/messages`, { method: 'POST', body });
            assert.equal(anon.status, 401);
        } finally {
            await foundry.close();
        }
    });

    it('with a key: x-api-key checked; SSE and count_tokens served', async () => {
        const foundry = await startFoundry({ key: 'az-key' });
        try {
            const headers = { 'x-api-key': 'az-key' };
            const body = { model: 'claude-sonnet-4-5', max_tokens: 8, stream: true, messages: [{ role: 'user', content: 'hi' }] };
            const sse = await request(`${foundry.url}/anthropic/v1/messages`, { method: 'POST', body, headers });
            assert.match(sse.text, /^event: message_start\n/);
            const count = await request(`${foundry.url}/anthropic/v1/messages/count_tokens`, { method: 'POST', body, headers });
            assert.deepEqual(count.json(), { input_tokens: MOCK_COUNT_TOKENS });
            assert.equal((await request(`${foundry.url}/anthropic/v1/messages`, { method: 'POST', body, headers: { 'x-api-key': 'no' } })).status, 401);
        } finally {
            await foundry.close();
        }
    });
});
