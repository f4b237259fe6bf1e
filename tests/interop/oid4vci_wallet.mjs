// A wallet app's side of OpenID for Verifiable Credential Issuance, driven by the
// OpenWallet Foundation's client library (@openid4vc/openid4vci), not by Credo's code.
//
//   node oid4vci_wallet.mjs < request.json
//
// request: {"offer": "openid-credential-offer://?...", "binding": "did:key" | "did:jwk",
//           "alg": "EdDSA" | "ES256", "stale_nonce_first": true (try a made-up nonce first)}
// answer (stdout, one JSON object): {"ok": true, "holder": DID, "credential": {...},
//   "issuer_metadata": {...}, "token": {...}} or {"ok": false, "error": "...", "detail": ...}
//
// The holder key is made here, fresh; TLS trust comes from NODE_EXTRA_CA_CERTS.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { Openid4vciClient } from '@openid4vc/openid4vci';
import { clientAuthenticationAnonymous } from '@openid4vc/oauth2';

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function base58(bytes) {
  let n = BigInt('0x' + Buffer.from(bytes).toString('hex'));
  let out = '';
  while (n > 0n) {
    out = B58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = '1' + out;
  }
  return out;
}

function b64url(data) {
  return Buffer.from(data).toString('base64url');
}

function holderKey(binding, alg) {
  const ec = alg === 'ES256';
  const { privateKey, publicKey } = ec
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  const publicJwk = ec
    ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
    : { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  let did;
  let didUrl;
  if (binding === 'did:jwk') {
    did = 'did:jwk:' + b64url(JSON.stringify(publicJwk));
    didUrl = did + '#0';
  } else {
    let raw;
    let codec;
    if (ec) {
      const x = Buffer.from(jwk.x, 'base64url');
      const y = Buffer.from(jwk.y, 'base64url');
      raw = Buffer.concat([Buffer.from([2 + (y[31] & 1)]), x]); // compressed point
      codec = [0x80, 0x24];
    } else {
      raw = Buffer.from(jwk.x, 'base64url');
      codec = [0xed, 0x01];
    }
    const id = 'z' + base58(Buffer.concat([Buffer.from(codec), raw]));
    did = 'did:key:' + id;
    didUrl = did + '#' + id;
  }
  const signBytes = (data) =>
    ec ? sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' }) : sign(null, data, privateKey);
  return { did, didUrl, publicJwk, signBytes };
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const alg = request.alg ?? 'EdDSA';
  const key = holderKey(request.binding ?? 'did:key', alg);

  const client = new Openid4vciClient({
    callbacks: {
      fetch: (url, init) => fetch(url, init),
      hash: (data, algorithm) => {
        const name = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' }[algorithm] ?? 'sha256';
        return new Uint8Array(createHash(name).update(data).digest());
      },
      generateRandom: (length) => new Uint8Array(randomBytes(length)),
      clientAuthentication: clientAuthenticationAnonymous(),
      signJwt: async (signer, { header, payload }) => {
        const input = b64url(JSON.stringify(header)) + '.' + b64url(JSON.stringify(payload));
        const signature = key.signBytes(Buffer.from(input));
        return { jwt: input + '.' + b64url(signature), signerJwk: key.publicJwk };
      },
    },
  });

  const credentialOffer = await client.resolveCredentialOffer(request.offer);
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
  const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer,
    issuerMetadata,
  });
  const configurationId = credentialOffer.credential_configuration_ids[0];
  // A wallet whose nonce went stale: the issuer's error must reach it as an OAuth error it
  // reads (invalid_nonce), so that it asks for a new nonce and tries again.
  let staleNonceError = null;
  if (request.stale_nonce_first) {
    const { jwt: stale } = await client.createCredentialRequestJwtProof({
      issuerMetadata,
      credentialConfigurationId: configurationId,
      nonce: 'a-nonce-the-issuer-never-gave',
      signer: { method: 'did', didUrl: key.didUrl, alg },
    });
    try {
      await client.retrieveCredentials({
        issuerMetadata,
        accessToken: accessTokenResponse.access_token,
        credentialConfigurationId: configurationId,
        proofs: { jwt: [stale] },
      });
      staleNonceError = 'accepted';
    } catch (error) {
      const parsed = error?.response?.credentialErrorResponseResult;
      staleNonceError = parsed?.success ? parsed.data.error : `unread: ${error?.message}`;
    }
  }
  const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata });
  const { jwt } = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: configurationId,
    nonce,
    signer: { method: 'did', didUrl: key.didUrl, alg },
  });
  const answer = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    credentialConfigurationId: configurationId,
    proofs: { jwt: [jwt] },
  });
  const credentials = answer.credentialResponse.credentials ?? [];
  process.stdout.write(
    JSON.stringify({
      ok: true,
      holder: key.did,
      credential: credentials[0]?.credential ?? null,
      count: credentials.length,
      issuer_metadata: issuerMetadata.credentialIssuer,
      version: issuerMetadata.originalDraftVersion,
      token_type: accessTokenResponse.token_type,
      stale_nonce_error: staleNonceError,
      offer: credentialOffer,
    }) + '\n',
  );
}

main().catch((error) => {
  const detail = error?.response?.body ?? error?.errorResponse ?? error?.cause?.message ?? null;
  process.stdout.write(
    JSON.stringify({ ok: false, error: String(error?.message ?? error), name: error?.name, detail }) + '\n',
  );
  process.exitCode = 1;
});
