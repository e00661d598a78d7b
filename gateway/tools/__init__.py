"""Build-time tools (never imported on the request path): the GraphiQL asset fetcher."""
