"""The ledger's adapters: SQL on the DB-API connection, one transaction helper, the key files."""
