// Signup, login, session tokens, /auth/* and the auth rate limit.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  API_KEY, JWT, UUID_V4, decodeJwt, expectError, expectOk, expectedEntitlements, hex,
  newIp, randomUuid, signJwt, signup, signupBody, startGatehouse,
} from './harness.mjs';

let gh;

before(async () => {
  gh = await startGatehouse();
});

after(async () => {
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

function assertClaims(token, userId, orgId) {
  assert.match(token, JWT);
  const { header, payload } = decodeJwt(token);
  assert.equal(header.alg, 'HS256');
  assert.equal(payload.sub, userId);
  assert.equal(payload.org, orgId);
  assert.equal(typeof payload.iat, 'number');
  assert.equal(typeof payload.exp, 'number');
  assert.equal(payload.exp - payload.iat, 86400, '24 h expiry');
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(payload.iat - now) < 300, `iat ${payload.iat} is not now (${now})`);
}

describe('POST /api/v1/signup', () => {
  test('creates org, owner, default key and token', async () => {
    const body = signupBody();
    const res = await gh.api('POST', '/api/v1/signup', { body });
    const json = expectOk(res, 201);
    assert.match(json.org.id, UUID_V4);
    assert.equal(json.org.slug, body.org_slug);
    assert.equal(json.org.name, body.org_name);
    assert.equal(json.org.plan, 'free');
    assert.match(json.user.id, UUID_V4);
    assert.equal(json.user.email, body.email);
    assert.equal(json.user.display_name, body.display_name);
    assert.match(json.api_key, API_KEY);
    assertClaims(json.token, json.user.id, json.org.id);
    assert.ok(!res.text.includes(body.password), 'the password is never echoed');

    const keys = expectOk(await gh.api('GET', '/api/v1/keys', { token: json.token })).keys;
    assert.equal(keys.length, 1);
    assert.equal(keys[0].name, 'Default');
    assert.deepEqual(keys[0].scopes, ['*']);
    assert.equal(keys[0].status, 'active');
    assert.equal(keys[0].key_prefix, json.api_key.slice(0, 12));
  });

  test('normalizes the email to lowercase', async () => {
    const tag = hex(4);
    const s = await signup(gh, { email: `Mixed.Case-${tag}@Example.COM` });
    assert.equal(s.user.email, `mixed.case-${tag}@example.com`);
    const login = await gh.api('POST', '/api/v1/login', {
      body: { email: `MIXED.case-${tag}@example.com`, password: s.password },
    });
    assert.equal(expectOk(login).user.id, s.user.id);
  });

  for (const field of ['email', 'password', 'org_slug', 'org_name', 'display_name']) {
    test(`missing ${field} -> 400 naming it`, async () => {
      const res = await gh.api('POST', '/api/v1/signup', { body: signupBody({ [field]: undefined }) });
      expectError(res, 400, 'invalid_request', field);
    });
    test(`${field} of the wrong type -> 400 naming it`, async () => {
      const res = await gh.api('POST', '/api/v1/signup', { body: signupBody({ [field]: 12345 }) });
      expectError(res, 400, 'invalid_request', field);
    });
  }

  test('unknown field -> 400 naming it', async () => {
    const res = await gh.api('POST', '/api/v1/signup', { body: signupBody({ plan: 'enterprise' }) });
    expectError(res, 400, 'invalid_request', 'plan');
    const res2 = await gh.api('POST', '/api/v1/signup', { body: signupBody({ emial: 'a@b.co' }) });
    expectError(res2, 400, 'invalid_request', 'emial');
  });

  test('malformed JSON -> 400', async () => {
    const res = await gh.api('POST', '/api/v1/signup', { raw: '{"email": "a@b.co", ' });
    expectError(res, 400, 'invalid_request');
  });

  for (const email of ['no-at-sign', 'a@', '@example.com', 'a b@example.com', 'a@b@example.com', '']) {
    test(`invalid email ${JSON.stringify(email)} -> 400`, async () => {
      const res = await gh.api('POST', '/api/v1/signup', { body: signupBody({ email }) });
      expectError(res, 400, 'invalid_request', 'email');
    });
  }

  test('password length is 8..72 bytes', async () => {
    expectError(await gh.api('POST', '/api/v1/signup', { body: signupBody({ password: '1234567' }) }),
      400, 'invalid_request', 'password');
    expectError(await gh.api('POST', '/api/v1/signup', { body: signupBody({ password: 'x'.repeat(73) }) }),
      400, 'invalid_request', 'password');
    // 37 two-byte characters: 74 bytes.
    expectError(await gh.api('POST', '/api/v1/signup', { body: signupBody({ password: 'é'.repeat(37) }) }),
      400, 'invalid_request', 'password');
    await signup(gh, { password: '12345678' });
    const long = await signup(gh, { password: 'y'.repeat(72) });
    expectOk(await gh.api('POST', '/api/v1/login', { body: { email: long.email, password: long.password } }));
  });

  const badSlugs = ['ab', 'a'.repeat(64), '-abc', 'abc-', 'ab--cd', 'ab_cd', 'ab cd', 'ab.cd', 'Abc',
    'äbc', ''];
  for (const slug of badSlugs) {
    test(`invalid org_slug ${JSON.stringify(slug)} -> 400`, async () => {
      const res = await gh.api('POST', '/api/v1/signup', { body: signupBody({ org_slug: slug }) });
      expectError(res, 400, 'invalid_request', 'org_slug');
    });
  }

  test('valid edge-case slugs are accepted', async () => {
    const tag = hex(3);
    for (const slug of [`a-${tag}`, `${tag}9`, `z${'0'.repeat(56)}${tag}`]) {
      const s = await signup(gh, { org_slug: slug });
      assert.equal(s.org.slug, slug);
    }
  });

  for (const field of ['org_name', 'display_name']) {
    test(`${field} must be 1..100 characters`, async () => {
      expectError(await gh.api('POST', '/api/v1/signup', { body: signupBody({ [field]: '' }) }),
        400, 'invalid_request', field);
      expectError(await gh.api('POST', '/api/v1/signup', { body: signupBody({ [field]: 'n'.repeat(101) }) }),
        400, 'invalid_request', field);
      const s = await signup(gh, { [field]: 'n'.repeat(100) });
      const got = field === 'org_name' ? s.org.name : s.user.display_name;
      assert.equal(got, 'n'.repeat(100));
    });
  }

  test('duplicate slug -> 409 conflict', async () => {
    const s = await signup(gh);
    const res = await gh.api('POST', '/api/v1/signup', { body: signupBody({ org_slug: s.slug }) });
    expectError(res, 409, 'conflict');
  });

  test('existing email with the same password adds an org to that user', async () => {
    const s = await signup(gh);
    const slug2 = `second-${hex(4)}`;
    const res = await gh.api('POST', '/api/v1/signup', {
      body: signupBody({ email: s.email, password: s.password, org_slug: slug2 }),
    });
    const json = expectOk(res, 201);
    assert.equal(json.user.id, s.user.id);
    assert.notEqual(json.org.id, s.org.id);
    assert.equal(json.org.slug, slug2);
    assertClaims(json.token, s.user.id, json.org.id);
    const orgs = expectOk(await gh.api('GET', '/api/v1/auth/orgs', { token: json.token })).orgs;
    assert.deepEqual(orgs.map((o) => o.id).sort(), [s.org.id, json.org.id].sort());
  });

  test('existing email with another password -> 409 and no org is created', async () => {
    const s = await signup(gh);
    const slug2 = `taken-${hex(4)}`;
    const res = await gh.api('POST', '/api/v1/signup', {
      body: signupBody({ email: s.email, password: `${s.password}-wrong`, org_slug: slug2 }),
    });
    expectError(res, 409, 'conflict');
    const again = await signup(gh, { org_slug: slug2 });
    assert.equal(again.org.slug, slug2);
    const orgs = expectOk(await gh.api('GET', '/api/v1/auth/orgs', { token: s.token })).orgs;
    assert.equal(orgs.length, 1);
  });

  test('concurrent signups for one slug: exactly one wins', async () => {
    const slug = `race-${hex(4)}`;
    const results = await Promise.all(Array.from({ length: 8 },
      () => gh.api('POST', '/api/v1/signup', { body: signupBody({ org_slug: slug }) })));
    const won = results.filter((r) => r.status === 201);
    assert.equal(won.length, 1, results.map((r) => r.status).join(','));
    for (const r of results.filter((x) => x.status !== 201)) expectError(r, 409, 'conflict');
  });
});

describe('POST /api/v1/login', () => {
  let s;
  before(async () => {
    s = await signup(gh);
  });

  test('answers token, user and org', async () => {
    const json = expectOk(await gh.api('POST', '/api/v1/login', {
      body: { email: s.email, password: s.password },
    }));
    assert.deepEqual(json.user, { id: s.user.id, email: s.email, display_name: s.body.display_name });
    assert.equal(json.org.id, s.org.id);
    assert.equal(json.org.slug, s.slug);
    assert.equal(json.org.name, s.body.org_name);
    assert.equal(json.org.plan, 'free');
    assertClaims(json.token, s.user.id, s.org.id);
    const me = expectOk(await gh.api('GET', '/api/v1/auth/me', { token: json.token }));
    assert.equal(me.user.id, s.user.id);
  });

  test('wrong password and unknown email: 401 with the same message', async () => {
    const wrong = await gh.api('POST', '/api/v1/login', { body: { email: s.email, password: 'not-the-password' } });
    const unknown = await gh.api('POST', '/api/v1/login', {
      body: { email: `nobody-${hex(4)}@example.com`, password: 'not-the-password' },
    });
    const a = expectError(wrong, 401, 'invalid_credentials');
    const b = expectError(unknown, 401, 'invalid_credentials');
    assert.equal(a.message, b.message);
  });

  test('missing fields, unknown fields, bad JSON -> 400', async () => {
    expectError(await gh.api('POST', '/api/v1/login', { body: { password: 'whatever1' } }),
      400, 'invalid_request', 'email');
    expectError(await gh.api('POST', '/api/v1/login', { body: { email: s.email } }),
      400, 'invalid_request', 'password');
    expectError(await gh.api('POST', '/api/v1/login', {
      body: { email: s.email, password: s.password, remember_me: true },
    }), 400, 'invalid_request', 'remember_me');
    expectError(await gh.api('POST', '/api/v1/login', { raw: 'email=a&password=b' }), 400, 'invalid_request');
    expectError(await gh.api('POST', '/api/v1/login', { raw: '[]' }), 400, 'invalid_request');
  });

  test('returns the most recently used org', async () => {
    const u = await signup(gh);
    const second = expectOk(await gh.api('POST', '/api/v1/signup', {
      body: signupBody({ email: u.email, password: u.password }),
    }), 201);
    const login = async () => expectOk(await gh.api('POST', '/api/v1/login', {
      body: { email: u.email, password: u.password },
    }));

    const toFirst = expectOk(await gh.api('POST', '/api/v1/auth/switch-org', {
      token: second.token, body: { org_id: u.org.id },
    }));
    assert.equal(toFirst.org.id, u.org.id);
    let l = await login();
    assert.equal(l.org.id, u.org.id);
    assertClaims(l.token, u.user.id, u.org.id);

    expectOk(await gh.api('POST', '/api/v1/auth/switch-org', { token: l.token, body: { org_id: second.org.id } }));
    l = await login();
    assert.equal(l.org.id, second.org.id);
    assertClaims(l.token, u.user.id, second.org.id);
  });
});

describe('session tokens', () => {
  let s;
  before(async () => {
    s = await signup(gh);
  });

  const me = (o) => gh.api('GET', '/api/v1/auth/me', o);

  test('missing or malformed Authorization -> 401 unauthorized', async () => {
    expectError(await me({}), 401, 'unauthorized');
    for (const value of ['', 'Bearer', 'Bearer ', 'Bearer not-a-jwt', `Basic ${Buffer.from('a:b').toString('base64')}`,
      `Token ${s.token}`, `Bearer ${s.token}x`, `Bearer  ${s.token} extra`]) {
      expectError(await me({ headers: { authorization: value } }), 401, 'unauthorized');
    }
  });

  test('tampered tokens -> 401', async () => {
    const [h, p, sig] = s.token.split('.');
    const flipped = sig[5] === 'A' ? 'B' : 'A';
    expectError(await me({ token: `${h}.${p}.${sig.slice(0, 5)}${flipped}${sig.slice(6)}` }), 401, 'unauthorized');

    const other = await signup(gh);
    const payload = { ...decodeJwt(s.token).payload, org: other.org.id };
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`;
    expectError(await me({ token: forged }), 401, 'unauthorized');

    const later = { ...decodeJwt(s.token).payload, exp: decodeJwt(s.token).payload.exp + 86400 };
    expectError(await me({ token: `${h}.${Buffer.from(JSON.stringify(later)).toString('base64url')}.${sig}` }),
      401, 'unauthorized');

    const none = signJwt(decodeJwt(s.token).payload, '', { alg: 'none', typ: 'JWT' });
    expectError(await me({ token: none }), 401, 'unauthorized');

    const wrongKey = signJwt(decodeJwt(s.token).payload, 'some-other-secret');
    expectError(await me({ token: wrongKey }), 401, 'unauthorized');
  });

  test('an API key is not a session credential', async () => {
    expectError(await me({ token: s.apiKey }), 401, 'unauthorized');
    expectError(await me({ key: s.apiKey }), 401, 'unauthorized');
    expectError(await gh.api('GET', '/api/v1/keys', { token: s.apiKey }), 401, 'unauthorized');
    expectError(await gh.api('GET', '/api/v1/keys', { key: s.apiKey }), 401, 'unauthorized');
  });

  test('the operator token is refused outside /api/v1/admin', async () => {
    for (const p of ['/api/v1/auth/me', '/api/v1/auth/entitlements', '/api/v1/auth/orgs', '/api/v1/org', '/api/v1/keys']) {
      expectError(await gh.api('GET', p, { token: gh.operatorToken }), 401, 'unauthorized');
    }
  });

  test('signed tokens: expiry, claims and algorithm are enforced', async () => {
    // A server whose secret we know, so that we can sign tokens ourselves.
    const secret = hex(32);
    const g2 = await startGatehouse({ env: { GATEHOUSE_JWT_SECRET: secret } });
    try {
      const u = await signup(g2);
      // The server's own token must be signed with the configured secret,
      // taken either as its bytes or as the bytes its hex spells.
      const [h, p, sig] = u.token.split('.');
      const candidates = [Buffer.from(secret, 'utf8'), Buffer.from(secret, 'hex')];
      const key = candidates.find((k) =>
        crypto.createHmac('sha256', k).update(`${h}.${p}`).digest('base64url') === sig);
      assert.ok(key, 'the session token is not signed with GATEHOUSE_JWT_SECRET');

      const now = Math.floor(Date.now() / 1000);
      const fresh = { sub: u.user.id, org: u.org.id, iat: now, exp: now + 3600 };
      const get = (token) => g2.api('GET', '/api/v1/auth/me', { token });
      expectOk(await get(signJwt(fresh, key)));

      expectError(await get(signJwt({ ...fresh, iat: now - 90000, exp: now - 3600 }, key)), 401, 'unauthorized');
      expectError(await get(signJwt({ ...fresh, exp: now - 1 }, key)), 401, 'unauthorized');
      const noExp = { ...fresh };
      delete noExp.exp;
      expectError(await get(signJwt(noExp, key)), 401, 'unauthorized');
      const noSub = { ...fresh };
      delete noSub.sub;
      expectError(await get(signJwt(noSub, key)), 401, 'unauthorized');
      expectError(await get(signJwt({ ...fresh, sub: randomUuid() }, key)), 401, 'unauthorized');
      expectError(await get(signJwt({ ...fresh, sub: 'not-a-uuid' }, key)), 401, 'unauthorized');
      expectError(await get(signJwt(fresh, key, { alg: 'HS512', typ: 'JWT' })), 401, 'unauthorized');
      expectError(await get(signJwt(fresh, key, { alg: 'none', typ: 'JWT' })), 401, 'unauthorized');

      // A valid signature over an org the user does not belong to gives no access.
      const stranger = await signup(g2);
      const foreign = await get(signJwt({ ...fresh, org: stranger.org.id }, key));
      assert.ok([401, 403].includes(foreign.status), `foreign org token got ${foreign.status}`);
      expectError(foreign, foreign.status, foreign.status === 401 ? 'unauthorized' : 'forbidden');
      const foreignKeys = await g2.api('GET', '/api/v1/keys', { token: signJwt({ ...fresh, org: stranger.org.id }, key) });
      assert.ok([401, 403].includes(foreignKeys.status), `foreign org token listed keys: ${foreignKeys.status}`);
    } finally {
      const { code } = await g2.dispose();
      assert.equal(code, 0);
    }
  });
});

describe('GET /api/v1/auth/me', () => {
  test('user, org, role and permissions', async () => {
    const s = await signup(gh);
    const json = expectOk(await gh.api('GET', '/api/v1/auth/me', { token: s.token }));
    assert.deepEqual(json.user, { id: s.user.id, email: s.email, display_name: s.body.display_name });
    assert.deepEqual(
      { id: json.org.id, slug: json.org.slug, name: json.org.name, plan: json.org.plan },
      { id: s.org.id, slug: s.slug, name: s.body.org_name, plan: 'free' });
    assert.equal(json.role, 'owner');
    assert.ok(Array.isArray(json.permissions) && json.permissions.length > 0);
    for (const p of json.permissions) assert.ok(typeof p === 'string' && p.length > 0);
    assert.ok(json.permissions.includes('org:write'), json.permissions.join(','));
    assert.ok(json.permissions.includes('keys:write'), json.permissions.join(','));
  });
});

describe('GET /api/v1/auth/entitlements', () => {
  test('free org: exactly the documented shape', async () => {
    const s = await signup(gh);
    const json = expectOk(await gh.api('GET', '/api/v1/auth/entitlements', { token: s.token }));
    assert.deepEqual(json, expectedEntitlements(s.org.id, 'free'));
  });

  test('needs a session', async () => {
    expectError(await gh.api('GET', '/api/v1/auth/entitlements'), 401, 'unauthorized');
  });
});

describe('orgs and switch-org', () => {
  let u;
  let second;
  before(async () => {
    u = await signup(gh);
    second = expectOk(await gh.api('POST', '/api/v1/signup', {
      body: signupBody({ email: u.email, password: u.password }),
    }), 201);
  });

  test('GET /api/v1/auth/orgs lists every membership', async () => {
    const { orgs } = expectOk(await gh.api('GET', '/api/v1/auth/orgs', { token: u.token }));
    assert.equal(orgs.length, 2);
    const byId = Object.fromEntries(orgs.map((o) => [o.id, o]));
    assert.deepEqual(byId[u.org.id], { id: u.org.id, slug: u.slug, name: u.body.org_name, plan: 'free', role: 'owner' });
    assert.deepEqual(byId[second.org.id], {
      id: second.org.id, slug: second.org.slug, name: second.org.name, plan: 'free', role: 'owner',
    });
    expectError(await gh.api('GET', '/api/v1/auth/orgs'), 401, 'unauthorized');
  });

  test('switching issues a token for the other org', async () => {
    const res = await gh.api('POST', '/api/v1/auth/switch-org', { token: u.token, body: { org_id: second.org.id } });
    const json = expectOk(res);
    assert.equal(json.org.id, second.org.id);
    assert.equal(json.org.slug, second.org.slug);
    assert.equal(json.org.plan, 'free');
    assertClaims(json.token, u.user.id, second.org.id);
    const me = expectOk(await gh.api('GET', '/api/v1/auth/me', { token: json.token }));
    assert.equal(me.org.id, second.org.id);
    assert.equal(me.role, 'owner');
    // The earlier token is still valid for its own org.
    const old = expectOk(await gh.api('GET', '/api/v1/auth/me', { token: u.token }));
    assert.equal(old.org.id, u.org.id);
    // Keys follow the token's org.
    const keysA = expectOk(await gh.api('GET', '/api/v1/keys', { token: u.token })).keys;
    const keysB = expectOk(await gh.api('GET', '/api/v1/keys', { token: json.token })).keys;
    assert.equal(keysA.length, 1);
    assert.equal(keysB.length, 1);
    assert.notEqual(keysA[0].id, keysB[0].id);
  });

  test('switching to an org of which one is no member -> 403', async () => {
    const stranger = await signup(gh);
    expectError(await gh.api('POST', '/api/v1/auth/switch-org', { token: u.token, body: { org_id: stranger.org.id } }),
      403, 'forbidden');
    expectError(await gh.api('POST', '/api/v1/auth/switch-org', { token: u.token, body: { org_id: randomUuid() } }),
      403, 'forbidden');
  });

  test('bad bodies -> 400, no session -> 401', async () => {
    expectError(await gh.api('POST', '/api/v1/auth/switch-org', { token: u.token, body: { org_id: 'not-a-uuid' } }),
      400, 'invalid_request', 'org_id');
    expectError(await gh.api('POST', '/api/v1/auth/switch-org', { token: u.token, body: { org_id: 42 } }),
      400, 'invalid_request', 'org_id');
    expectError(await gh.api('POST', '/api/v1/auth/switch-org', { token: u.token, body: {} }),
      400, 'invalid_request', 'org_id');
    expectError(await gh.api('POST', '/api/v1/auth/switch-org', {
      token: u.token, body: { org_id: second.org.id, org: second.org.id },
    }), 400, 'invalid_request', 'org');
    expectError(await gh.api('POST', '/api/v1/auth/switch-org', { token: u.token, raw: '{' }), 400, 'invalid_request');
    expectError(await gh.api('POST', '/api/v1/auth/switch-org', { body: { org_id: second.org.id } }),
      401, 'unauthorized');
  });
});

describe('auth rate limit', () => {
  test('the 11th signup/login attempt from one IP within 15 minutes -> 429', async () => {
    const victim = await signup(gh);
    const ip = newIp();
    for (let i = 0; i < 5; i++) {
      const res = await gh.api('POST', '/api/v1/login', { ip, body: { email: victim.email, password: 'wrong-password' } });
      expectError(res, 401, 'invalid_credentials');
    }
    for (let i = 0; i < 5; i++) {
      expectOk(await gh.api('POST', '/api/v1/signup', { ip, body: signupBody() }), 201);
    }
    const limited = await gh.api('POST', '/api/v1/login', { ip, body: { email: victim.email, password: victim.password } });
    expectError(limited, 429, 'rate_limited');
    const retry = limited.headers['retry-after'];
    assert.match(retry ?? '', /^\d+$/, `Retry-After must be whole seconds, got ${retry}`);
    assert.ok(Number(retry) >= 1 && Number(retry) <= 900, `Retry-After ${retry}`);

    // signup and login share the budget
    expectError(await gh.api('POST', '/api/v1/signup', { ip, body: signupBody() }), 429, 'rate_limited');

    // another client is unaffected
    const other = await gh.api('POST', '/api/v1/login', { ip: newIp(), body: { email: victim.email, password: victim.password } });
    assert.equal(expectOk(other).user.id, victim.user.id);

    // other routes from the limited IP still work
    expectOk(await gh.api('GET', '/api/v1/auth/me', { ip, token: victim.token }));
  });
});
