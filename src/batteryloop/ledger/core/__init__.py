"""The ledger's pure core: canonical JSON, the event envelope, hashes, Merkle roots and signatures."""
