// A real OpenID Connect provider for the browser tests: the certified `oidc-provider` package
// on a loopback port. Its development login form takes any password and uses the typed login
// as the subject; each person's email, name and groups come from the JSON file OIDC_USERS,
// read at every sign-in, so a test changes someone's groups by rewriting that file.
//
//   OIDC_PORT=3190 OIDC_USERS=users.json OIDC_CLIENT_SECRET=… AUDITORIUM_URL=http://127.0.0.1:3100 node provider.mjs
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT ?? 3190);
const auditorium = process.env.AUDITORIUM_URL ?? 'http://127.0.0.1:3100';
const usersFile = process.env.OIDC_USERS;

function person(sub) {
  const users = usersFile ? JSON.parse(readFileSync(usersFile, 'utf8')) : {};
  return users[sub] ?? { email: `${sub}@example.com`, name: sub, groups: [] };
}

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID ?? 'auditorium',
    client_secret: process.env.OIDC_CLIENT_SECRET ?? 'a test client secret of some length',
    redirect_uris: [`${auditorium}/sso/callback`],
    post_logout_redirect_uris: [`${auditorium}/sign-in?signed_out=1`],
    response_types: ['code'],
    grant_types: ['authorization_code'],
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        const p = person(sub);
        return { sub, email: p.email, email_verified: true, name: p.name, groups: p.groups };
      },
    };
  },
  // Auditorium is a first-party application here: no consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ['auditorium browser tests only'] },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on http://127.0.0.1:${port}`));
