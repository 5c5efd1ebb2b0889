/** A small stand-in for the broker's OpenID Provider side, to test the SDK's checks. */
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { freePort } from '../../test/support/ports.js';

export interface FakeBroker {
  issuer: string;
  /** What the next token response's ID token carries (merged over sane defaults), and how it is signed. */
  next: { claims?: Record<string, unknown>; signWith?: 'broker' | 'stranger'; tamper?: boolean };
  jwks: { keys: JWK[] };
  sign(claims: Record<string, unknown>, key?: 'broker' | 'stranger', header?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export async function startFakeBroker(): Promise<FakeBroker> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const broker = await generateKeyPair('ES256', { extractable: true });
  const stranger = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(broker.publicKey)), kid: 'broker-1', alg: 'ES256', use: 'sig' };
  const state: FakeBroker = {
    issuer,
    next: {},
    jwks: { keys: [publicJwk] },
    async sign(claims, key = 'broker', header = {}) {
      return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'broker-1', ...header }).sign(key === 'broker' ? broker.privateKey : stranger.privateKey);
    },
    close: async () => undefined,
  };
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (body: unknown, status = 200) => (res.writeHead(status, { 'content-type': 'application/json' }), res.end(JSON.stringify(body)));
    if (url.pathname === '/.well-known/openid-configuration') {
      return json({
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['ES256'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
        authorization_response_iss_parameter_supported: true,
      });
    }
    if (url.pathname === '/jwks') return json(state.jwks);
    if (url.pathname === '/token') {
      for await (const _ of req) void _;
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: issuer, aud: 'test-service', sub: 'pairwise-sub-1', iat: now, exp: now + 300, vot: 'Cl.Cm.P2', vtm: `${issuer}/trustmark`, txn: 'K7QM-2XPD-9RTB-H', ...state.next.claims };
      let idToken = await state.sign(claims, state.next.signWith ?? 'broker');
      if (state.next.tamper) {
        const [h, p, s] = idToken.split('.');
        const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
        payload.vot = 'Cl.Cm.Cp.P3';
        idToken = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
      }
      return json({ access_token: 'at-1', token_type: 'Bearer', expires_in: 300, id_token: idToken });
    }
    json({ error: 'not_found' }, 404);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  state.close = () => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections()));
  return state;
}
