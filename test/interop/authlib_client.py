#!/usr/bin/python3
"""
An independent OpenID Connect client of the broker: Python's Authlib (Debian python3-authlib),
not openid-client. Driven by test/interop/authlib.test.ts, one JSON object per line:

  1. discovery: checks the metadata an ordinary client relies on;
  2. prints {"step": "authorize", "url": ...}: an authorization request with PKCE S256, state
     and nonce, built by Authlib;
  3. reads the callback URL (where the browser landed at the service) from stdin;
  4. an error there: prints {"step": "result", "authorization_error": ...}, having checked the
     state and the RFC 9207 iss of the error response;
  5. otherwise redeems the code (client_secret_basic or private_key_jwt, Authlib's own client
     authentication), checks the ID token itself (ES256 only, against the broker's JWKS, iss,
     aud, exp, iat, nonce, at_hash), calls userinfo, and tries the error paths a client meets:
     a wrong secret or key, the same code again, a tampered ID token, another nonce;
  6. prints {"step": "result", ...}.

Usage: authlib_client.py '<json options>'
  options: issuer, client_id, redirect_uri, auth ("client_secret_basic" | "private_key_jwt"),
           secret | key_file, scope, extra (authorization parameters, e.g. claims, vtr)
"""
import base64
import json
import sys
import time
import urllib.parse

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.jose.errors import BadSignatureError, InvalidClaimError, JoseError
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.integrations.base_client.errors import OAuthError
from authlib.oidc.core import CodeIDToken


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def fail(message):
    emit({"step": "failed", "message": message})
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def error_of(exc):
    """The OAuth error code an Authlib exception carries."""
    for attr in ("error",):
        value = getattr(exc, attr, None)
        if value:
            return value
    return type(exc).__name__


def session_for(opts, meta, secret_or_key):
    auth = opts["auth"]
    session = OAuth2Session(
        client_id=opts["client_id"],
        client_secret=secret_or_key,
        token_endpoint_auth_method=auth,
        redirect_uri=opts["redirect_uri"],
        scope=opts.get("scope", "openid"),
        code_challenge_method="S256",
    )
    if auth == "private_key_jwt":
        # The assertion's audience is the token endpoint; the broker accepts ES256 client keys.
        session.register_client_auth_method(PrivateKeyJWT(meta["token_endpoint"], alg="ES256"))
    return session


def main():
    opts = json.loads(sys.argv[1])
    issuer = opts["issuer"]

    # 1. Discovery, as any client does it.
    meta = requests.get(issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=10).json()
    expect(meta.get("issuer") == issuer, "discovery names another issuer: %r" % meta.get("issuer"))
    expect("code" in meta.get("response_types_supported", []), "response_type code not supported")
    expect("S256" in meta.get("code_challenge_methods_supported", []), "PKCE S256 not supported")
    expect(opts["auth"] in meta.get("token_endpoint_auth_methods_supported", []), "%s not supported" % opts["auth"])
    expect("ES256" in meta.get("id_token_signing_alg_values_supported", []), "ES256 ID tokens not supported")
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        expect(meta.get(name, "").startswith(issuer), "%s is not under the issuer" % name)
    expect(meta.get("authorization_response_iss_parameter_supported") is True, "RFC 9207 iss not announced")

    if opts["auth"] == "private_key_jwt":
        with open(opts["key_file"], encoding="utf-8") as f:
            credential = json.load(f)
    else:
        credential = opts["secret"]

    # 2. The authorization request: PKCE S256, state and nonce, built by Authlib.
    session = session_for(opts, meta, credential)
    code_verifier = generate_token(64)
    nonce = generate_token(24)
    url, state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce, **opts.get("extra", {})
    )
    emit({"step": "authorize", "url": url, "state": state})

    # 3. Where the browser landed at the service.
    callback = sys.stdin.readline().strip()
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(callback).query))
    expect(params.get("state") == state, "the response state is not ours")
    expect(params.get("iss") == issuer, "the response iss is not the broker (RFC 9207)")

    # 4. An error response.
    if "error" in params:
        emit({"step": "result", "authorization_error": params["error"], "error_description": params.get("error_description"), "txn": params.get("txn")})
        return

    result = {"step": "result"}

    # 5a. A wrong secret or key: refused with invalid_client, and the code stays unused.
    if opts["auth"] == "private_key_jwt":
        wrong = JsonWebKey.generate_key("EC", "P-256", is_private=True).as_dict(is_private=True)
    else:
        wrong = credential + "-wrong"
    try:
        session_for(opts, meta, wrong).fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=code_verifier, state=state)
        fail("a wrong client credential was accepted")
    except (OAuthError, OAuth2Error) as e:
        result["wrong_credential"] = error_of(e)

    # 5b. The code, with Authlib's client authentication and the PKCE verifier.
    token = session.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=code_verifier, state=state)
    result["token_type"] = token.get("token_type")
    id_token = token["id_token"]

    # 5c. Authlib's own ID token checks, against the broker's JWKS, ES256 only.
    jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    jwt = JsonWebToken(["ES256"])

    def check(token_text, expected_nonce):
        claims = jwt.decode(
            token_text,
            jwks,
            claims_cls=CodeIDToken,
            claims_options={"iss": {"essential": True, "values": [issuer]}},
            claims_params={"nonce": expected_nonce, "client_id": opts["client_id"], "access_token": token["access_token"]},
        )
        claims.validate(now=int(time.time()), leeway=60)
        return claims

    claims = check(id_token, nonce)
    result["alg"] = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "==").decode())["alg"]
    result["id_token"] = dict(claims)

    # 5d. The same checks refuse a tampered token and another journey's nonce.
    head, body, sig = id_token.split(".")
    tampered_sig = ("A" if sig[0] != "A" else "B") + sig[1:]
    try:
        check(".".join([head, body, tampered_sig]), nonce)
        fail("a tampered ID token passed Authlib's checks")
    except BadSignatureError as e:
        result["tampered"] = type(e).__name__
    try:
        check(id_token, generate_token(24))
        fail("an ID token with another nonce passed Authlib's checks")
    except InvalidClaimError as e:
        result["other_nonce"] = type(e).__name__

    # 5e. userinfo with the access token.
    userinfo = session.get(meta["userinfo_endpoint"])
    expect(userinfo.status_code == 200, "userinfo answered %d" % userinfo.status_code)
    result["userinfo"] = userinfo.json()

    # 5f. The same code again: refused.
    try:
        session_for(opts, meta, credential).fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=code_verifier, state=state)
        fail("a code was redeemed twice")
    except (OAuthError, OAuth2Error) as e:
        result["replayed_code"] = error_of(e)

    emit(result)


if __name__ == "__main__":
    try:
        main()
    except JoseError as e:
        fail("ID token refused: %s" % e)
    except (OAuthError, OAuth2Error) as e:
        fail("OAuth error: %s %s" % (error_of(e), getattr(e, "description", "")))
