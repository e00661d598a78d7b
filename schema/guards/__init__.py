"""Guards around the payment seam: idempotency keys and rate limits (no I/O of their own).

    errors.py       the codes a guard answers with (declarative: code, retryable, message)
    keys.py         key validation, caller scope and request fingerprint (HMAC, never secret)
    sealing.py      AES-GCM for stored answers (they hold payment `client_secret`s)
    store.py        the store protocols, and the in-memory stores (one process)
    gcra.py         the rate limit: GCRA, pure arithmetic plus an in-memory limiter
    idempotency.py  the guard: lock, call once, store the definitive outcome, replay it
    request.py      what one request carries to the seam (scope, header key, hints back)

Redis implementations of the store protocols live in the server (`gateway.shared_state`).
"""
