// The peer of bench/run.sh: node-oidc-provider (npm `oidc-provider`) configured for the same
// single requests as idpd's benchmark, on 127.0.0.1 only.
//
//   node bench/peer/op.mjs PORT MODULE_URL SECRET
//
// MODULE_URL is the file:// URL of oidc-provider's lib/index.js. Three confidential clients
// (client_secret_basic, client_credentials, scope "read"), all with SECRET:
//
//   es      → resource urn:bench:es256, JWT access tokens signed with ES256
//   rs      → resource urn:bench:rs256, JWT access tokens signed with RS256
//   opaque  → resource urn:bench:opaque, opaque access tokens (for introspection)
//
// The request body is only `grant_type=client_credentials` (as for idpd), so each client's
// resource comes from `defaultResource`. The signing keys (EC P-256 and RSA 2048) are made at
// start. Storage is oidc-provider's default in-memory adapter. No request logging; prints
// "listening" once it accepts connections.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

const [, , port, modUrl, secret] = process.argv;
if (!port || !modUrl || !secret) {
  console.error('usage: node op.mjs PORT MODULE_URL SECRET');
  process.exit(2);
}
const { default: Provider, errors } = await import(modUrl);

const key = (type, options, alg) => ({
  ...generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' }),
  use: 'sig',
  alg,
  kid: `bench-${alg.toLowerCase()}`,
});

// resource indicator → resource server (audience = the indicator)
const resources = {
  'urn:bench:es256': { scope: 'read', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } },
  'urn:bench:rs256': { scope: 'read', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } },
  'urn:bench:opaque': { scope: 'read', accessTokenFormat: 'opaque' },
};
// client → its resource
const defaults = { es: 'urn:bench:es256', rs: 'urn:bench:rs256', opaque: 'urn:bench:opaque' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: Object.keys(defaults).map((id) => ({
    client_id: id,
    client_secret: secret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'read',
  })),
  jwks: {
    keys: [
      key('ec', { namedCurve: 'P-256' }, 'ES256'),
      key('rsa', { modulusLength: 2048 }, 'RS256'),
    ],
  },
  scopes: ['openid', 'offline_access', 'read'],
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // A confidential client may introspect the tokens issued to it (the bench introspects
      // the opaque client's token as that client).
      async allowedPolicy(ctx, client, token) {
        return client.clientAuthMethod !== 'none' && token.clientId === client.clientId;
      },
    },
    resourceIndicators: {
      enabled: true,
      async defaultResource(ctx, client, oneOf) {
        return oneOf ?? defaults[client?.clientId];
      },
      async getResourceServerInfo(ctx, resource, client) {
        const info = resources[resource];
        if (!info || defaults[client.clientId] !== resource) throw new errors.InvalidTarget();
        return info;
      },
      async useGrantedResource() {
        return true;
      },
    },
  },
});

provider.listen(Number(port), '127.0.0.1', () => console.log('listening'));
