"""The Medusa client layer (bottom): transport, HTTP client, the `fields` model, profiles, errors.

Nothing here knows GraphQL: the schema layer above turns selections into `fields` and calls
`MedusaClient`; the server layer on top wires one pooled client per process.
"""
