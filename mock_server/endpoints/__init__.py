"""The fal endpoints the fake serves: the seed endpoint's own module, and any endpoint described
by fal's per-endpoint OpenAPI document (built-in ones under `contracts/endpoints/`, or a user's).

The queue knows an endpoint only through `falfake.queue.plans.Endpoint`; nothing below the
routes imports this folder.
"""
