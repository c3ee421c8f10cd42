"""Private signing keys for the CLI: PEM files (mode 0600) in ``<db>.keys/<org_id>/<key_id>.pem``.

The ledger itself stores only public keys. This keystore is for a single operator running the CLI on the
machine that holds the database; a real deployment keeps private keys with each organisation.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.orgs.core.keys import key_id_for, public_key_bytes


def keystore_dir_for(database: str | Path) -> Path:
    """``<db>.keys`` next to a SQLite file path or ``sqlite:///`` URL; ``./batteryloop.keys`` otherwise."""
    value = str(database)
    if value.startswith("sqlite:///"):
        value = value[len("sqlite:///") :]
    elif "://" in value:
        return Path("batteryloop.keys")
    return Path(value + ".keys")


class KeyStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _org_dir(self, org_id: str) -> Path:
        if not org_id or "/" in org_id or org_id.startswith("."):
            raise ValidationError(f"organisation id {org_id!r} cannot name a key directory")
        return self.root / org_id

    def generate_key(self, org_id: str) -> tuple[str, Ed25519PrivateKey]:
        """Create and store a new Ed25519 key for ``org_id``; return (key_id, private key)."""
        key = Ed25519PrivateKey.generate()
        return self.save(org_id, key), key

    def save(self, org_id: str, key: Ed25519PrivateKey) -> str:
        key_id = key_id_for(public_key_bytes(key))
        folder = self._org_dir(org_id)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"{key_id}.pem"
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        os.chmod(path, 0o600)
        return key_id

    def load(self, org_id: str, key_id: str | None = None) -> tuple[str, Ed25519PrivateKey]:
        """The named key, or the newest key of ``org_id`` when ``key_id`` is None."""
        folder = self._org_dir(org_id)
        if key_id is None:
            candidates = (
                sorted(folder.glob("*.pem"), key=lambda p: (p.stat().st_mtime_ns, p.name))
                if folder.exists()
                else []
            )
            if not candidates:
                raise NotFoundError(f"no private key for {org_id} in {folder}")
            path = candidates[-1]
        else:
            path = folder / f"{key_id}.pem"
            if not path.exists():
                raise NotFoundError(f"no private key {key_id} for {org_id} in {folder}")
        key = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValidationError(f"{path} does not hold an Ed25519 key")
        return path.stem, key

    def key_ids(self, org_id: str) -> list[str]:
        folder = self._org_dir(org_id)
        return sorted(p.stem for p in folder.glob("*.pem")) if folder.exists() else []

    def key_ids_by_age(self, org_id: str) -> list[str]:
        """The key ids of ``org_id``, oldest first (by the file's modification time, then name)."""
        folder = self._org_dir(org_id)
        if not folder.exists():
            return []
        return [p.stem for p in sorted(folder.glob("*.pem"), key=lambda p: (p.stat().st_mtime_ns, p.name))]

    def retire(self, org_id: str, key_id: str) -> None:
        """Set a revoked (or never registered) key aside as ``<key_id>.pem.revoked``: never loaded again."""
        path = self._org_dir(org_id) / f"{key_id}.pem"
        if path.exists():
            path.rename(path.with_name(path.name + ".revoked"))


def generate_key(org_id: str, *, root: str | Path) -> tuple[str, Ed25519PrivateKey]:
    return KeyStore(root).generate_key(org_id)
