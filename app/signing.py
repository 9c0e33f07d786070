"""Signing the session cookie and the CSRF token with serializers kept per process.

Flask builds a `URLSafeTimedSerializer` for the session cookie on every request, Flask-WTF one
for the CSRF token, and each signature derives its key from the secret key again (a hash of the
salt and the key) and builds an HMAC object through Python's `hmac` module: ~0.1 ms of every
logged-in page's fixed cost for nothing that changes between requests (issue 14, session 14's
profile: the cookie's open ~7 %, the token ~4.5 % of the dashboard).

Here a serializer is built once per (secret keys, salt, method) and kept; its one signer
derives each secret key's signing key once; the HMAC is computed by OpenSSL in one call
(`hmac.digest`). Every token, cookie and check is byte for byte itsdangerous' own: the same
key derivation, the same HMAC-SHA1, the same payload and timestamp (`tests/web/
test_kept_signing.py` compares them with itsdangerous' and Flask-WTF's). What differs per
request (the payload, the time) is still computed per request; nothing kept depends on a
request or a reader, and a changed secret key (or fallback list) makes another key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from typing import Any

from flask import current_app, g, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import want_bytes
from itsdangerous.signer import HMACAlgorithm
from itsdangerous.timed import TimestampSigner


class _OpenSSLHMAC(HMACAlgorithm):
    """itsdangerous' HMAC in one call to OpenSSL (`hmac.digest`), for a digest OpenSSL names:
    the same bytes as `hmac.new(key, value, digest).digest()`."""

    def __init__(self, digest_method: Any, name: str) -> None:
        super().__init__(digest_method)
        self._name = name

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return hmac.digest(key, value, self._name)


def _openssl_name(digest_method: Any) -> str | None:
    """The name `hmac.digest` takes for `digest_method` (a hashlib constructor, or Flask's lazy
    sha1), or None when OpenSSL does not provide it by that name."""
    try:
        name = str(digest_method().name)
    except TypeError:  # not a constructor that takes no argument
        return None
    return name if name in hashlib.algorithms_guaranteed else None


class KeptKeySigner(TimestampSigner):
    """itsdangerous' timestamp signer with each secret key's derived key computed once (the
    derivation is a pure function of the salt, the method and the key) and the HMAC in one
    OpenSSL call. Holds no request's data: one instance serves every request of a process."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = _openssl_name(self.digest_method)
        if name is not None and type(self.algorithm) is HMACAlgorithm:
            self.algorithm = _OpenSSLHMAC(self.digest_method, name)
        self._derived: dict[bytes, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        derived = self._derived.get(key)
        if derived is None:  # a race computes the same bytes twice: harmless
            derived = self._derived[key] = super().derive_key(key)
        return derived


class KeptSignerSerializer(URLSafeTimedSerializer):
    """A serializer whose signer for its own salt is built once (itsdangerous builds one per
    `dumps`, `loads` and `make_signer`)."""

    default_signer = KeptKeySigner

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._own_signer = super().make_signer(self.salt)

    def make_signer(self, salt: str | bytes | None = None) -> Any:
        if salt is None or want_bytes(salt) == self.salt:
            return self._own_signer
        return super().make_signer(salt)


_serializers: dict[tuple[Any, ...], KeptSignerSerializer] = {}
_serializers_lock = threading.Lock()


def kept_serializer(
    secret_keys: tuple[str | bytes, ...], salt: str | bytes, **options: Any
) -> KeptSignerSerializer:
    """The process's serializer for these secret keys (oldest first, the signing key last),
    salt and options (hashable values only: the key of the kept serializer)."""
    key = (secret_keys, salt, tuple(sorted(options.items())))
    found = _serializers.get(key)
    if found is None:
        with _serializers_lock:
            found = _serializers.get(key)
            if found is None:
                signer_kwargs = options.pop("signer_kwargs", ())
                found = KeptSignerSerializer(
                    list(secret_keys), salt=salt, signer_kwargs=dict(signer_kwargs), **options
                )
                _serializers[key] = found
    return found


class KeptSerializerSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions with the signing serializer kept per process."""

    def get_signing_serializer(self, app: Any) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        # As Flask orders them: the fallbacks, then the current key (itsdangerous signs with
        # the last and checks all).
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        return kept_serializer(
            keys,
            self.salt,
            serializer=self.serializer,
            signer_kwargs=(
                ("digest_method", self.digest_method),
                ("key_derivation", self.key_derivation),
            ),
        )


CSRF_SALT = "wtf-csrf-token"  # Flask-WTF's


def csrf_token(secret_key: str | None = None, token_key: str | None = None) -> str:
    """`flask_wtf.csrf.generate_csrf` with its serializer kept per process: the same token
    (the session's raw token signed with the same key, salt and time), kept on `g` under the
    same name, so Flask-WTF's own calls in the same request return it too."""
    # Flask-WTF's look-ups (`_get_config`): an argument, else the setting, else the default;
    # the application and `g` each looked up once through their proxies (a page asks 4-10 times).
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config
    secret = (
        secret_key if secret_key is not None else config.get("WTF_CSRF_SECRET_KEY", app.secret_key)
    )
    if secret is None:
        raise RuntimeError("A secret key is required to use CSRF.")
    field_name = (
        token_key if token_key is not None else config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    )
    if field_name is None:
        raise RuntimeError("A field name is required to use CSRF.")
    request_globals = g._get_current_object()
    if field_name not in request_globals:
        serializer = kept_serializer((secret,), CSRF_SALT)
        if field_name not in session:
            session[field_name] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - as Flask-WTF
        try:
            token = serializer.dumps(session[field_name])
        except TypeError:
            session[field_name] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324
            token = serializer.dumps(session[field_name])
        setattr(request_globals, field_name, token)
    return request_globals.get(field_name)


def init_csrf_token(app: Any) -> None:
    """Templates' `csrf_token()` is `csrf_token` (after `CSRFProtect.init_app`, which installs
    its own as a global and again from a context processor on every render: the processor is
    dropped, `csrf_meta_tag` stays a global, as it was)."""
    app.jinja_env.globals["csrf_token"] = csrf_token
    processors = app.template_context_processors[None]
    processors[:] = [p for p in processors if getattr(p, "__module__", "") != "flask_wtf.csrf"]
