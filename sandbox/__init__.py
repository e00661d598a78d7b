"""The embedded Medusa 2.21 emulator: demo data behind the store payment routes.

It depends only on the `fields` model of the client layer (it projects answers as Medusa does);
nothing depends on it but the server's wiring (`gateway.sandbox_wiring`).
"""
