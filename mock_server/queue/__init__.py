"""The queue and sync run: routes, the store, request models, replies, SSE, safety, rate limits,
and the endpoints served."""
