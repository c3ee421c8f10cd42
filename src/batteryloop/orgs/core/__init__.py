"""Pure rules of the organisation registry: key fingerprints and API-key digests."""

from batteryloop.orgs.core.keys import API_KEY_PREFIX, hash_api_key, key_id_for, public_key_bytes

__all__ = ["API_KEY_PREFIX", "hash_api_key", "key_id_for", "public_key_bytes"]
