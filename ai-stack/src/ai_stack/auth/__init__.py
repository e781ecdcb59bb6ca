"""API keys: creation, hashed storage, and the gateway's auth_request verifier."""
