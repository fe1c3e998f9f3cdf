"""Ed25519 keys held by the platform, encrypted at rest."""

from __future__ import annotations

import base64
import datetime as dt
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from wipe_cert.models import SigningKey


def derived_secret(purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"xunhuan:" + purpose).derive(
        settings.SECRET_KEY.encode()
    )


def derived_encryption_key() -> bytes:
    """The Fernet key used when WIPE_CERT_ENCRYPTION_KEY is unset (not for production:
    it changes with the secret key; see wipe_cert/deploy_checks.py)."""
    return base64.urlsafe_b64encode(derived_secret(b"wipe-cert-keys"))


def derived_identifier_key() -> bytes:
    """The HMAC key used when WIPE_CERT_IDENTIFIER_KEY is unset (likewise)."""
    return derived_secret(b"wipe-cert-identifiers")


def _fernet() -> Fernet:
    configured = settings.WIPE_CERT_ENCRYPTION_KEY
    return Fernet(configured.encode() if configured else derived_encryption_key())


def identifier_key() -> bytes:
    configured = settings.WIPE_CERT_IDENTIFIER_KEY
    return configured.encode() if configured else derived_identifier_key()


def encrypt_private_key(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return _fernet().encrypt(raw).decode("ascii")


def decrypt_private_key(token: str) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(_fernet().decrypt(token.encode("ascii")))
    except InvalidToken as exc:
        raise RuntimeError("The signing key cannot be decrypted: WIPE_CERT_ENCRYPTION_KEY changed?") from exc


def public_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def new_key_id(prefix: str) -> str:
    return f"{prefix}-{timezone.now():%Y%m}-{secrets.token_hex(4)}"


@transaction.atomic
def platform_key() -> SigningKey:
    """The platform's current countersigning key, created on first use."""
    now = timezone.now()
    key = (
        SigningKey.objects.select_for_update()
        .filter(organisation__isnull=True, revoked_at__isnull=True, valid_from__lte=now, valid_to__gt=now)
        .exclude(private_key_encrypted="")
        .order_by("-valid_from", "-pk")
        .first()
    )
    if key is not None:
        return key
    private = Ed25519PrivateKey.generate()
    return SigningKey.objects.create(
        key_id=new_key_id("platform"),
        public_key=public_b64(private),
        private_key_encrypted=encrypt_private_key(private),
        valid_from=now - dt.timedelta(minutes=1),
        valid_to=now + dt.timedelta(days=3650),
    )


def private_key_of(key: SigningKey) -> Ed25519PrivateKey:
    if not key.private_key_encrypted:
        raise RuntimeError(f"The platform does not hold the private part of {key.key_id}.")
    return decrypt_private_key(key.private_key_encrypted)
