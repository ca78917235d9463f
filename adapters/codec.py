"""Payloads encrypted at rest in Temporal: AES-256-GCM, keys from the environment, a key id in each payload.

Workflow inputs, results, signals, updates, activity arguments, summaries and failure messages
carry contacts' names and addresses; with the codec on, Temporal stores only ciphertext.

    PAYLOAD_ENCRYPTION_KEYS="2026-07:<base64 of 32 random bytes>,2026-01:<base64 ...>"

The first key encrypts every new payload; every key listed decrypts. Each payload names its
key (metadata `encryption-key-id`), so keys rotate without touching history: put the new key
first and keep the old ones listed for as long as the namespace retains runs that used them
(an onboarding that continues as new re-encrypts its state under the new key). Unset, which is
the default on a laptop, payloads stay plain JSON, and plain payloads always decode, so turning
encryption on never strands a run already in flight.

`python -m adapters.codec new-key ID` prints a fresh `ID:<key>` entry for the variable.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

KEYS_VARIABLE = "PAYLOAD_ENCRYPTION_KEYS"
ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
_KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class CodecConfigError(ValueError):
    """PAYLOAD_ENCRYPTION_KEYS cannot be used; the message says which entry and why (never the key)."""


class UndecodablePayload(ValueError):
    """A payload this keyring cannot decrypt: an unknown key id, a wrong key or tampered bytes."""


@dataclass(frozen=True)
class Keyring:
    """The key that encrypts (`current`) and every key that may still decrypt, by id."""

    current: str
    keys: Mapping[str, bytes] = field(repr=False)

    @classmethod
    def parse(cls, raw: str) -> Keyring:
        entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
        if not entries:
            raise CodecConfigError(f"{KEYS_VARIABLE}: expected one or more ID:BASE64KEY entries, comma-separated")
        keys: dict[str, bytes] = {}
        for n, entry in enumerate(entries, 1):
            key_id, colon, encoded = entry.partition(":")
            where = f"{KEYS_VARIABLE}: entry {n}"
            if not colon or not _KEY_ID_PATTERN.match(key_id):
                raise CodecConfigError(f"{where}: expected ID:BASE64KEY with an ID of letters, digits, '.', '_', '-'")
            if key_id in keys:
                raise CodecConfigError(f"{where}: key id {key_id!r} is listed twice")
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise CodecConfigError(f"{where} ({key_id}): the key is not valid base64") from None
            if len(key) != 32:
                raise CodecConfigError(f"{where} ({key_id}): expected a 256-bit key (32 bytes), got {len(key)} bytes")
            keys[key_id] = key
        return cls(current=next(iter(keys)), keys=keys)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Keyring | None:
        """The keyring PAYLOAD_ENCRYPTION_KEYS describes; None when it is unset or empty (encryption off)."""
        raw = (os.environ if env is None else env).get(KEYS_VARIABLE, "").strip()
        return cls.parse(raw) if raw else None


class EncryptionCodec(PayloadCodec):
    """Encrypts each payload whole (metadata and data) under the current key; decrypts under the one it names."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keyring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.keyring.current
        nonce = os.urandom(NONCE_BYTES)
        # The key id is authenticated data: moving a payload under another id fails to decrypt.
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was turned on: plain already
        key_id = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(self._ciphers)
            raise UndecodablePayload(
                f"payload encrypted with key id {key_id!r}, which {KEYS_VARIABLE} does not list (it lists: {known})"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise UndecodablePayload(
                f"payload under key id {key_id!r} does not decrypt: the key differs or the payload was altered"
            ) from None
        return Payload.FromString(plain)


def codec_from_env(env: Mapping[str, str] | None = None) -> EncryptionCodec | None:
    keyring = Keyring.from_env(env)
    return EncryptionCodec(keyring) if keyring else None


def new_key_entry(key_id: str) -> str:
    """A fresh `ID:<base64 key>` entry, for the front of PAYLOAD_ENCRYPTION_KEYS."""
    if not _KEY_ID_PATTERN.match(key_id):
        raise CodecConfigError("key id: expected letters, digits, '.', '_' or '-' (at most 64)")
    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "new-key":
        print("usage: python -m adapters.codec new-key ID  (prints ID:KEY)", file=sys.stderr)
        return 2
    try:
        print(new_key_entry(argv[1]))
    except CodecConfigError as e:
        print(e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
