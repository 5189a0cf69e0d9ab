// Members of an organization: listing, invitations, role changes,
// suspension, re-sent invitations and removal.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  UUID_V4, assertRecentTimestamp, expectError, expectOk, randomUuid, signup, startGatehouse,
} from './harness.mjs';
import {
  accept, as, expectForbidden, invite, join, listUsers, memberOf, newEmail,
} from './governance_helpers.mjs';

let gh;

before(async () => {
  gh = await startGatehouse();
});

after(async () => {
  if (!gh) return;
  const { code } = await gh.dispose();
  assert.equal(code, 0, 'gatehouse must exit 0 on SIGTERM');
});

const MEMBER_FIELDS = ['api_keys', 'email', 'id', 'joined_at', 'last_active_at', 'name', 'request_count', 'role',
  'status', 'team_id'];

function assertMember(m, expected = {}) {
  assert.deepEqual(Object.keys(m).sort(), MEMBER_FIELDS, `member fields: ${JSON.stringify(m)}`);
  assert.match(m.id, UUID_V4);
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(m[k], v, `member.${k}`);
}

const login = (email, password) => gh.api('POST', '/api/v1/login', { body: { email, password } });
const acceptRaw = (body) => gh.api('POST', '/api/v1/invites/accept', { body });
const me = (token) => gh.api('GET', '/api/v1/auth/me', { token });

async function createTeam(s, name) {
  return expectOk(await as(gh, s).post('/api/v1/teams', { name: name ?? `team-${randomUuid().slice(0, 8)}` }), 201);
}

describe('GET /api/v1/users', () => {
  let owner;
  let admin;
  let member;
  let viewer;
  let pending;
  let suspended;

  before(async () => {
    owner = await signup(gh, { display_name: 'Olivia Owner' });
    admin = await join(gh, owner, 'admin');
    member = await join(gh, owner, 'member');
    viewer = await join(gh, owner, 'viewer');
    pending = await invite(gh, owner, { role: 'viewer', email: newEmail('pending') });
    suspended = await join(gh, owner, 'member');
    expectOk(await as(gh, owner).post(`/api/v1/users/${suspended.id}/suspend`));
  });

  test('lists every membership with its fields and a summary', async () => {
    const json = await listUsers(gh, viewer);
    assert.deepEqual(Object.keys(json).sort(), ['summary', 'users']);
    assert.equal(json.users.length, 6);
    for (const u of json.users) assertMember(u);
    const byId = Object.fromEntries(json.users.map((u) => [u.id, u]));
    assertMember(byId[owner.user.id], {
      name: 'Olivia Owner', email: owner.email, role: 'owner', status: 'active', team_id: null, api_keys: 1,
      request_count: 0,
    });
    assertRecentTimestamp(byId[owner.user.id].joined_at);
    assertRecentTimestamp(byId[owner.user.id].last_active_at);
    assertMember(byId[admin.id], { email: admin.email, role: 'admin', status: 'active', api_keys: 0 });
    assertMember(byId[member.id], { role: 'member', status: 'active' });
    assertMember(byId[viewer.id], { role: 'viewer', status: 'active' });
    assertRecentTimestamp(byId[viewer.id].joined_at);
    assertMember(byId[pending.user.id], {
      email: pending.email, role: 'viewer', status: 'invited', joined_at: null, last_active_at: null, api_keys: 0,
      request_count: 0,
    });
    assertMember(byId[suspended.id], { role: 'member', status: 'suspended' });
    assert.deepEqual(json.summary, { total: 6, active: 4, admins: 2, pending_invites: 1 });
    assert.ok(!json.users.some((u) => u.id === owner.org.id));
  });

  test('q matches name or email, ignoring case', async () => {
    let { users } = await listUsers(gh, owner, { q: 'OLIVIA' });
    assert.deepEqual(users.map((u) => u.id), [owner.user.id]);
    ({ users } = await listUsers(gh, owner, { q: admin.email.slice(0, 12).toUpperCase() }));
    assert.deepEqual(users.map((u) => u.id), [admin.id]);
    ({ users } = await listUsers(gh, owner, { q: 'pending-' }));
    assert.deepEqual(users.map((u) => u.id), [pending.user.id]);
    ({ users } = await listUsers(gh, owner, { q: 'no-such-person-anywhere' }));
    assert.deepEqual(users, []);
  });

  test('role and status filters; the summary stays the whole org', async () => {
    const admins = await listUsers(gh, owner, { role: 'admin' });
    assert.deepEqual(admins.users.map((u) => u.id), [admin.id]);
    assert.deepEqual(admins.summary, { total: 6, active: 4, admins: 2, pending_invites: 1 });
    const members = await listUsers(gh, owner, { role: 'member' });
    assert.deepEqual(members.users.map((u) => u.id).sort(), [member.id, suspended.id].sort());
    const invited = await listUsers(gh, owner, { status: 'invited' });
    assert.deepEqual(invited.users.map((u) => u.id), [pending.user.id]);
    const susp = await listUsers(gh, owner, { status: 'suspended' });
    assert.deepEqual(susp.users.map((u) => u.id), [suspended.id]);
    const both = await listUsers(gh, owner, { role: 'member', status: 'active' });
    assert.deepEqual(both.users.map((u) => u.id), [member.id]);
  });

  test('sort and order', async () => {
    const emails = async (query) => (await listUsers(gh, owner, query)).users.map((u) => u.email);
    const all = await emails({});
    const asc = [...all].sort();
    assert.deepEqual(await emails({ sort: 'email' }), asc, 'asc is the default order');
    assert.deepEqual(await emails({ sort: 'email', order: 'asc' }), asc);
    assert.deepEqual(await emails({ sort: 'email', order: 'desc' }), [...asc].reverse());
    const roles = (await listUsers(gh, owner, { sort: 'role' })).users.map((u) => u.role);
    const rank = { owner: 0, admin: 1, member: 2, viewer: 3 };
    assert.deepEqual(roles, [...roles].sort((a, b) => rank[a] - rank[b]), 'roles sort by rank');
    const statuses = (await listUsers(gh, owner, { sort: 'status', order: 'desc' })).users.map((u) => u.status);
    assert.deepEqual(statuses, [...statuses].sort().reverse());
    const names = (await listUsers(gh, owner, { sort: 'name' })).users.filter((u) => u.status !== 'invited')
      .map((u) => u.name.toLowerCase());
    assert.deepEqual(names, [...names].sort());
    const joined = (await listUsers(gh, owner, { sort: 'joined_at', order: 'asc' })).users;
    const joinedTimes = joined.filter((u) => u.joined_at).map((u) => Date.parse(u.joined_at));
    assert.deepEqual(joinedTimes, [...joinedTimes].sort((a, b) => a - b));
    assert.equal(joined[0].id, owner.user.id, 'the owner joined first');
    expectOk(await as(gh, owner).get('/api/v1/users?sort=last_active&order=desc'));
  });

  test('bad query values -> 400 naming the parameter', async () => {
    const u = as(gh, owner);
    expectError(await u.get('/api/v1/users?role=superuser'), 400, 'invalid_request', 'role');
    expectError(await u.get('/api/v1/users?role=Owner'), 400, 'invalid_request', 'role');
    expectError(await u.get('/api/v1/users?status=gone'), 400, 'invalid_request', 'status');
    expectError(await u.get('/api/v1/users?sort=password'), 400, 'invalid_request', 'sort');
    expectError(await u.get('/api/v1/users?sort=name&order=up'), 400, 'invalid_request', 'order');
  });

  test('api_keys counts active keys and follows creation and revocation', async () => {
    const created = expectOk(await as(gh, member).post('/api/v1/keys', { name: 'mine' }), 201);
    assert.equal((await memberOf(gh, owner, member.id)).api_keys, 1);
    expectOk(await as(gh, member).del(`/api/v1/keys/${created.key.id}`));
    assert.equal((await memberOf(gh, owner, member.id)).api_keys, 0);
  });
});

describe('POST /api/v1/users/invite', () => {
  test('creates an invited membership with a one-time token', async () => {
    const owner = await signup(gh);
    const team = await createTeam(owner);
    const email = newEmail('fresh');
    const res = await as(gh, owner).post('/api/v1/users/invite', { email, role: 'admin', team_id: team.id });
    const json = expectOk(res, 201);
    assert.deepEqual(Object.keys(json).sort(), ['invite_token', 'invite_url', 'user']);
    assertMember(json.user, {
      email, role: 'admin', status: 'invited', team_id: team.id, joined_at: null, last_active_at: null,
    });
    assert.equal(typeof json.invite_token, 'string');
    assert.ok(json.invite_token.length >= 32, 'the invite token is long enough not to be guessed');
    assert.equal(typeof json.invite_url, 'string');
    assert.ok(json.invite_url.includes(json.invite_token), 'invite_url carries the token');
    const listed = await memberOf(gh, owner, json.user.id);
    assert.deepEqual(listed, json.user);
    assert.ok(!(await listUsers(gh, owner)).users.some((u) => JSON.stringify(u).includes(json.invite_token)),
      'the token is shown once');
  });

  test('role defaults to member; owner and unknown roles -> 400', async () => {
    const owner = await signup(gh);
    const inv = await invite(gh, owner, {});
    assert.equal(inv.user.role, 'member');
    for (const role of ['owner', 'root', '', 5]) {
      expectError(await as(gh, owner).post('/api/v1/users/invite', { email: newEmail(), role }),
        400, 'invalid_request', 'role');
    }
    assert.equal((await listUsers(gh, owner)).users.length, 2);
  });

  test('email, team_id and unknown fields are checked', async () => {
    const owner = await signup(gh);
    const u = as(gh, owner);
    expectError(await u.post('/api/v1/users/invite', {}), 400, 'invalid_request', 'email');
    expectError(await u.post('/api/v1/users/invite', { email: 'not-an-email' }), 400, 'invalid_request', 'email');
    expectError(await u.post('/api/v1/users/invite', { email: newEmail(), team_id: randomUuid() }),
      400, 'invalid_request', 'team_id');
    expectError(await u.post('/api/v1/users/invite', { email: newEmail(), rol: 'admin' }), 400, 'invalid_request', 'rol');
    assert.equal((await listUsers(gh, owner)).users.length, 1);
  });

  test('inviting a member again -> 409 conflict', async () => {
    const owner = await signup(gh);
    const admin = await join(gh, owner, 'admin');
    expectError(await as(gh, owner).post('/api/v1/users/invite', { email: admin.email }), 409, 'conflict');
    expectError(await as(gh, owner).post('/api/v1/users/invite', { email: owner.email }), 409, 'conflict');
    const pending = await invite(gh, owner);
    expectError(await as(gh, owner).post('/api/v1/users/invite', { email: pending.email }), 409, 'conflict');
    assert.equal((await listUsers(gh, owner)).users.length, 3);
  });
});

describe('POST /api/v1/invites/accept', () => {
  test('a new account: token, org and user; the member is active with the invited role', async () => {
    const owner = await signup(gh);
    const inv = await invite(gh, owner, { role: 'viewer' });
    const res = await acceptRaw({ invite_token: inv.invite_token, password: 'secret-password-1', display_name: 'Vera' });
    const json = expectOk(res);
    assert.deepEqual(Object.keys(json).sort(), ['org', 'token', 'user']);
    assert.equal(json.org.id, owner.org.id);
    assert.equal(json.user.id, inv.user.id);
    assert.equal(json.user.email, inv.email);
    assert.ok(!res.text.includes('secret-password-1'));
    const who = expectOk(await me(json.token));
    assert.equal(who.role, 'viewer');
    assert.equal(who.org.id, owner.org.id);
    assertMember(await memberOf(gh, owner, inv.user.id), { status: 'active', name: 'Vera', role: 'viewer' });
    assertRecentTimestamp((await memberOf(gh, owner, inv.user.id)).joined_at);
    expectOk(await login(inv.email, 'secret-password-1'));
    const summary = (await listUsers(gh, owner)).summary;
    assert.deepEqual(summary, { total: 2, active: 2, admins: 1, pending_invites: 0 });
  });

  test('a new account needs password and display_name', async () => {
    const owner = await signup(gh);
    const inv = await invite(gh, owner);
    expectError(await acceptRaw({ invite_token: inv.invite_token, display_name: 'X' }), 400, 'invalid_request',
      'password');
    expectError(await acceptRaw({ invite_token: inv.invite_token, password: 'long-enough-pw' }), 400,
      'invalid_request', 'display_name');
    expectError(await acceptRaw({ invite_token: inv.invite_token, password: 'short', display_name: 'X' }), 400,
      'invalid_request', 'password');
    expectError(await acceptRaw({ password: 'long-enough-pw', display_name: 'X' }), 400, 'invalid_request',
      'invite_token');
    expectError(await acceptRaw({ invite_token: inv.invite_token, password: 'long-enough-pw', display_name: 'X',
      role: 'owner' }), 400, 'invalid_request', 'role');
    assert.equal((await memberOf(gh, owner, inv.user.id)).status, 'invited', 'failed attempts change nothing');
    await accept(gh, inv.invite_token);
    assert.equal((await memberOf(gh, owner, inv.user.id)).status, 'active');
  });

  test('an existing account joins with its own password, keeping password and name', async () => {
    const owner = await signup(gh);
    const other = await signup(gh, { display_name: 'Already Here' });
    const inv = await invite(gh, owner, { email: other.email, role: 'admin' });
    assert.equal(inv.user.id, other.user.id, 'the invitation names the existing account');
    const json = expectOk(await acceptRaw({
      invite_token: inv.invite_token, password: other.password, display_name: 'Renamed',
    }));
    assert.equal(json.user.id, other.user.id);
    assert.equal(json.org.id, owner.org.id);
    expectOk(await login(other.email, other.password));
    assert.equal((await memberOf(gh, owner, other.user.id)).name, 'Already Here');
    const { orgs } = expectOk(await gh.api('GET', '/api/v1/auth/orgs', { token: json.token }));
    const roles = Object.fromEntries(orgs.map((o) => [o.id, o.role]));
    assert.deepEqual(roles, { [owner.org.id]: 'admin', [other.org.id]: 'owner' });
  });

  test('an existing account joins with its session token as Authorization: Bearer', async () => {
    const owner = await signup(gh);
    const other = await signup(gh);
    const inv = await invite(gh, owner, { email: other.email });
    const res = await gh.api('POST', '/api/v1/invites/accept', {
      token: other.token, body: { invite_token: inv.invite_token },
    });
    const json = expectOk(res);
    assert.equal(json.user.id, other.user.id);
    assert.equal(json.org.id, owner.org.id);
    assert.equal((await memberOf(gh, owner, other.user.id)).status, 'active');
    assert.equal(expectOk(await me(json.token)).role, 'member');
    expectOk(await login(other.email, other.password));
  });

  test('pre-registration: an account made for the invited email first cannot join without proof', async () => {
    const admin = await signup(gh);
    const email = newEmail('invitee');
    // Someone registers the address the admin is about to invite...
    const squatter = await signup(gh, { email });
    const inv = await invite(gh, admin, { email, role: 'admin' });
    assert.equal(inv.user.id, squatter.user.id);
    // ...and the invitee, following the link, picks a password of their own.
    const picked = { invite_token: inv.invite_token, password: 'the-invitees-own-password', display_name: 'Invitee' };
    expectError(await acceptRaw(picked), 401, 'invalid_credentials');
    expectError(await acceptRaw({ invite_token: inv.invite_token }), 401, 'invalid_credentials');
    expectError(await acceptRaw({ invite_token: inv.invite_token, password: 42 }), 400, 'invalid_request', 'password');
    // Another user's session token proves nothing, nor does a forged one.
    const stranger = await signup(gh);
    for (const token of [stranger.token, admin.token, `${squatter.token.slice(0, -4)}AAAA`, 'not-a-token']) {
      expectError(await gh.api('POST', '/api/v1/invites/accept', { token, body: { invite_token: inv.invite_token } }),
        401, 'invalid_credentials');
    }
    // Nothing changed: still invited, the account's password is still its own.
    assertMember(await memberOf(gh, admin, squatter.user.id), { status: 'invited', role: 'admin' });
    expectError(await login(email, picked.password), 401, 'invalid_credentials');
    const { orgs } = expectOk(await gh.api('GET', '/api/v1/auth/orgs', { token: squatter.token }));
    assert.deepEqual(orgs.map((o) => o.id), [squatter.org.id]);
    // The invitation stays usable by whoever proves the account.
    const json = expectOk(await acceptRaw({ invite_token: inv.invite_token, password: squatter.password }));
    assert.equal(json.user.id, squatter.user.id);
    assert.equal((await memberOf(gh, admin, squatter.user.id)).status, 'active');
  });

  test('unknown or used tokens -> 404', async () => {
    const owner = await signup(gh);
    expectError(await acceptRaw({ invite_token: 'inv-does-not-exist', password: 'long-enough-pw', display_name: 'X' }),
      404, 'not_found');
    const inv = await invite(gh, owner);
    await accept(gh, inv.invite_token);
    expectError(await acceptRaw({ invite_token: inv.invite_token, password: 'long-enough-pw', display_name: 'X' }),
      404, 'not_found');
  });
});

describe('PUT /api/v1/users/{id}', () => {
  test('an admin changes roles and teams of non-owners', async () => {
    const owner = await signup(gh);
    const admin = await join(gh, owner, 'admin');
    const member = await join(gh, owner, 'member');
    const team = await createTeam(owner);
    const json = expectOk(await as(gh, admin).put(`/api/v1/users/${member.id}`, { role: 'viewer', team_id: team.id }));
    assertMember(json, { id: member.id, role: 'viewer', team_id: team.id, status: 'active' });
    assertMember(await memberOf(gh, owner, member.id), { role: 'viewer', team_id: team.id });
    // The new role applies to the member's next request.
    assert.equal(expectOk(await me(member.token)).role, 'viewer');
    expectForbidden(await as(gh, member).post('/api/v1/keys', { name: 'no-longer' }));
    const cleared = expectOk(await as(gh, admin).put(`/api/v1/users/${member.id}`, { team_id: null }));
    assert.equal(cleared.team_id, null);
    assert.equal(cleared.role, 'viewer', 'a partial update keeps the role');
    expectError(await as(gh, admin).put(`/api/v1/users/${member.id}`, { role: 'king' }), 400, 'invalid_request', 'role');
    expectError(await as(gh, admin).put(`/api/v1/users/${member.id}`, { team_id: randomUuid() }), 400,
      'invalid_request', 'team_id');
    expectError(await as(gh, admin).put(`/api/v1/users/${member.id}`, { status: 'active' }), 400,
      'invalid_request', 'status');
  });

  test('admins can neither change owners nor grant owner', async () => {
    const owner = await signup(gh);
    const admin = await join(gh, owner, 'admin');
    const member = await join(gh, owner, 'member');
    expectForbidden(await as(gh, admin).put(`/api/v1/users/${owner.user.id}`, { role: 'admin' }));
    expectForbidden(await as(gh, admin).put(`/api/v1/users/${owner.user.id}`, { team_id: null }));
    expectForbidden(await as(gh, admin).put(`/api/v1/users/${member.id}`, { role: 'owner' }));
    expectForbidden(await as(gh, admin).put(`/api/v1/users/${admin.id}`, { role: 'owner' }));
    assert.equal((await memberOf(gh, owner, owner.user.id)).role, 'owner');
    assert.equal((await memberOf(gh, owner, member.id)).role, 'member');
    assert.equal((await memberOf(gh, owner, admin.id)).role, 'admin');
  });

  test('an owner grants owner; the last active owner cannot be demoted', async () => {
    const owner = await signup(gh);
    const admin = await join(gh, owner, 'admin');
    expectError(await as(gh, owner).put(`/api/v1/users/${owner.user.id}`, { role: 'admin' }), 409, 'conflict');
    assert.equal((await memberOf(gh, owner, owner.user.id)).role, 'owner');
    assert.equal(expectOk(await as(gh, owner).put(`/api/v1/users/${admin.id}`, { role: 'owner' })).role, 'owner');
    // Two owners: either may step down, but not both.
    assert.equal(expectOk(await as(gh, owner).put(`/api/v1/users/${owner.user.id}`, { role: 'member' })).role,
      'member');
    expectError(await as(gh, admin).put(`/api/v1/users/${admin.id}`, { role: 'viewer' }), 409, 'conflict');
    const { summary } = await listUsers(gh, admin);
    assert.equal(summary.admins, 1);
  });

  test('the last two owners demoting themselves at once: exactly one succeeds', async () => {
    for (let round = 0; round < 5; round++) {
      const a = await signup(gh);
      const b = await join(gh, a, 'admin');
      expectOk(await as(gh, a).put(`/api/v1/users/${b.id}`, { role: 'owner' }));
      const results = await Promise.all([
        as(gh, a).put(`/api/v1/users/${a.user.id}`, { role: 'admin' }),
        as(gh, b).put(`/api/v1/users/${b.id}`, { role: 'member' }),
      ]);
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 409], `round ${round}: ${results.map((r) => r.text).join(' | ')}`);
      expectError(results.find((r) => r.status === 409), 409, 'conflict');
      const owners = (await listUsers(gh, a, { role: 'owner' })).users;
      assert.equal(owners.length, 1, `round ${round}: one owner is left`);
      assert.equal(owners[0].status, 'active');
    }
  });

  test('unknown or malformed id -> 404', async () => {
    const owner = await signup(gh);
    expectError(await as(gh, owner).put(`/api/v1/users/${randomUuid()}`, { role: 'viewer' }), 404, 'not_found');
    expectError(await as(gh, owner).put('/api/v1/users/not-a-uuid', { role: 'viewer' }), 404, 'not_found');
  });
});

describe('suspend and reactivate', () => {
  test("a suspended member's token and login are refused until reactivated", async () => {
    const owner = await signup(gh);
    const member = await join(gh, owner, 'member');
    expectOk(await me(member.token));
    const json = expectOk(await as(gh, owner).post(`/api/v1/users/${member.id}/suspend`));
    assertMember(json, { id: member.id, status: 'suspended', role: 'member' });
    expectError(await me(member.token), 403, 'user_suspended');
    expectError(await as(gh, member).get('/api/v1/keys'), 403, 'user_suspended');
    expectError(await login(member.email, member.password), 403, 'user_suspended');
    assert.deepEqual((await listUsers(gh, owner)).summary, { total: 2, active: 1, admins: 1, pending_invites: 0 });

    const back = expectOk(await as(gh, owner).post(`/api/v1/users/${member.id}/reactivate`));
    assertMember(back, { id: member.id, status: 'active' });
    expectOk(await me(member.token));
    expectOk(await as(gh, member).get('/api/v1/keys'));
    const again = expectOk(await login(member.email, member.password));
    assert.equal(again.org.id, owner.org.id);
  });

  test('the last owner cannot be suspended; invited members cannot be suspended', async () => {
    const owner = await signup(gh);
    const admin = await join(gh, owner, 'admin');
    expectError(await as(gh, owner).post(`/api/v1/users/${owner.user.id}/suspend`), 409, 'conflict');
    expectForbidden(await as(gh, admin).post(`/api/v1/users/${owner.user.id}/suspend`));
    expectOk(await me(owner.token));
    const pending = await invite(gh, owner);
    expectError(await as(gh, owner).post(`/api/v1/users/${pending.user.id}/suspend`), 409, 'conflict');
    assert.equal((await memberOf(gh, owner, pending.user.id)).status, 'invited');
    expectError(await as(gh, owner).post(`/api/v1/users/${randomUuid()}/suspend`), 404, 'not_found');
    expectError(await as(gh, owner).post(`/api/v1/users/${randomUuid()}/reactivate`), 404, 'not_found');
  });

  test('a second owner can be suspended', async () => {
    const owner = await signup(gh);
    const second = await join(gh, owner, 'admin');
    expectOk(await as(gh, owner).put(`/api/v1/users/${second.id}`, { role: 'owner' }));
    assert.equal(expectOk(await as(gh, owner).post(`/api/v1/users/${second.id}/suspend`)).status, 'suspended');
    expectError(await me(second.token), 403, 'user_suspended');
    // The only active owner left is the last one.
    expectError(await as(gh, owner).post(`/api/v1/users/${owner.user.id}/suspend`), 409, 'conflict');
  });
});

describe('POST /api/v1/users/{id}/resend-invite', () => {
  test('a new token replaces the old one', async () => {
    const owner = await signup(gh);
    const inv = await invite(gh, owner, { role: 'viewer' });
    const res = await as(gh, owner).post(`/api/v1/users/${inv.user.id}/resend-invite`);
    const json = expectOk(res);
    assert.deepEqual(Object.keys(json).sort(), ['invite_token', 'invite_url', 'user']);
    assert.notEqual(json.invite_token, inv.invite_token);
    assert.ok(json.invite_url.includes(json.invite_token));
    assertMember(json.user, { id: inv.user.id, status: 'invited', role: 'viewer' });
    expectError(await acceptRaw({ invite_token: inv.invite_token, password: 'long-enough-pw', display_name: 'X' }),
      404, 'not_found');
    const acc = await accept(gh, json.invite_token);
    assert.equal(acc.user.id, inv.user.id);
    assert.equal((await memberOf(gh, owner, inv.user.id)).status, 'active');
  });

  test('only for invited members', async () => {
    const owner = await signup(gh);
    const member = await join(gh, owner, 'member');
    expectError(await as(gh, owner).post(`/api/v1/users/${member.id}/resend-invite`), 409, 'conflict');
    expectError(await as(gh, owner).post(`/api/v1/users/${owner.user.id}/resend-invite`), 409, 'conflict');
    expectError(await as(gh, owner).post(`/api/v1/users/${randomUuid()}/resend-invite`), 404, 'not_found');
  });
});

describe('DELETE /api/v1/users/{id}', () => {
  test("removes the membership, revokes the member's keys and voids the token", async () => {
    const owner = await signup(gh);
    const member = await join(gh, owner, 'member');
    const mine = expectOk(await as(gh, member).post('/api/v1/keys', { name: 'member-key' }), 201);
    const json = expectOk(await as(gh, owner).del(`/api/v1/users/${member.id}`));
    assert.deepEqual(json, { deleted: true, id: member.id });
    assert.equal(await memberOf(gh, owner, member.id), undefined);
    const { keys } = expectOk(await as(gh, owner).get('/api/v1/keys'));
    const key = keys.find((k) => k.id === mine.key.id);
    assert.equal(key.status, 'revoked');
    assert.equal(keys.find((k) => k.name === 'Default').status, 'active', "the owner's key is untouched");
    expectError(await me(member.token), 401, 'unauthorized');
    expectError(await as(gh, member).get('/api/v1/users'), 401, 'unauthorized');
    expectError(await as(gh, owner).del(`/api/v1/users/${member.id}`), 404, 'not_found');
    // The account still exists and can be invited again.
    const again = await invite(gh, owner, { email: member.email });
    assert.equal(again.user.id, member.id);
  });

  test('an invitation can be withdrawn', async () => {
    const owner = await signup(gh);
    const inv = await invite(gh, owner);
    expectOk(await as(gh, owner).del(`/api/v1/users/${inv.user.id}`));
    expectError(await acceptRaw({ invite_token: inv.invite_token, password: 'long-enough-pw', display_name: 'X' }),
      404, 'not_found');
  });

  test('the last owner stays; admins cannot remove owners', async () => {
    const owner = await signup(gh);
    const admin = await join(gh, owner, 'admin');
    expectError(await as(gh, owner).del(`/api/v1/users/${owner.user.id}`), 409, 'conflict');
    expectForbidden(await as(gh, admin).del(`/api/v1/users/${owner.user.id}`));
    assert.equal((await memberOf(gh, owner, owner.user.id)).status, 'active');
    expectOk(await me(owner.token));
    expectError(await as(gh, owner).del(`/api/v1/users/${randomUuid()}`), 404, 'not_found');
  });
});
