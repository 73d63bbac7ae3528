// What the cloud-provider tests (integration/bedrock, vertex, foundry; e2e/cloud) share: an
// environment without a developer's cloud credentials, Claude Code's billing line, a request body
// with awkward bytes, and the check that an adapted body kept every byte it did not have to change.

import assert from 'node:assert/strict';

// Variables that would give the relay credentials other than the config's.
export const CLEAN_ENV = Object.freeze({
    AWS_BEARER_TOKEN_BEDROCK: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '', AWS_REGION: '', AWS_DEFAULT_REGION: '', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_CONFIG_FILE: '/nonexistent',
    GOOGLE_APPLICATION_CREDENTIALS: '', AZURE_AUTHORITY_HOST: '', AZURE_CLIENT_SECRET: '', AZURE_CLIENT_ID: '', AZURE_TENANT_ID: '',
});

/** The system block Claude Code puts first; Bedrock and Vertex refuse it, the relay removes it. */
export const BILLING_TEXT = 'x-anthropic-billing-header: cc_version=2.1.37.0d9; cc_entrypoint=cli; cch=fa690;';
const BILLING_BLOCK = `{"type":"text","text":"${BILLING_TEXT}"}`;
const SYSTEM_BLOCK = '{ "type" : "text", "text":"You are Claude Code, Anthropic\'s official CLI for Claude. ünï" }';

/**
 * A Messages body as raw text, its top-level members in `order` with odd whitespace between them:
 * { text, members: { name: its exact text } }. `stream`: true | false | undefined (absent);
 * `billing`: the system array starts with the billing block.
 */
export function oddBody({ model = 'claude-sonnet-4-5', stream, billing = false, order } = {}) {
    const members = {
        model: `"model" : ${JSON.stringify(model)}`,
        max_tokens: '"max_tokens":64',
        messages: '"messages":[{"role":"user","content":"say hi: ünï 漢字 🚀 \\u00e9 \\"model\\":\\"claude-x\\" \\/"}]',
        metadata: '"metadata": {"model":"claude-x","user_id":"u-1"}',
        system: `"system":[${billing ? BILLING_BLOCK + ', ' : ''}${SYSTEM_BLOCK}]`,
        ...(stream === undefined ? {} : { stream: `"stream":  ${stream}` }),
    };
    const names = order ?? ['model', 'stream', 'max_tokens', 'messages', 'metadata', 'system'];
    const list = names.filter((n) => n in members).map((n) => members[n]);
    return { text: `{ ${list.join(' ,\n\t')} }`, members, systemBlock: SYSTEM_BLOCK };
}

/**
 * `got` (the body the cloud received) holds each text of `kept` byte for byte, in order; apart
 * from them and the `added` patterns there are only braces, commas between members and whitespace.
 */
export function assertSplicedBody(got, { kept, added = [] }) {
    let rest = got;
    let from = 0;
    for (const k of kept) {
        const at = got.indexOf(k, from);
        assert.ok(at >= 0, `kept byte for byte, in order: ${k}\n--- body ---\n${got}`);
        from = at + k.length;
        rest = rest.replace(k, '\u0000');
    }
    for (const re of added) {
        assert.match(rest, re, `added: ${re}\n--- body ---\n${got}`);
        rest = rest.replace(re, '\u0000');
    }
    const skeleton = rest.replace(/\s+/g, '');
    const n = kept.length + added.length;
    assert.equal(skeleton, `{${Array(n).fill('\u0000').join(',')}}`,
        `nothing but the members, commas and whitespace\n--- body ---\n${got}`);
    assert.doesNotThrow(() => JSON.parse(got), `valid JSON: ${got}`);
}

/** The secrets `list` appear nowhere in the relay's log. */
export function assertNotLogged(relay, list) {
    const logs = relay.logs();
    assert.ok(logs.length > 0, 'the relay logged something');
    for (const s of list) assert.ok(!logs.includes(s), `secret ${s.slice(0, 6)}… in the relay log`);
}

const reEscape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The system member once the billing block is gone: the other block's bytes kept. */
export const SYSTEM_WITHOUT_BILLING = new RegExp(`"system":\\[\\s*${reEscape(SYSTEM_BLOCK)}\\s*\\]`);
