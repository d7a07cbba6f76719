"""Starlette glue: JSON replies, the ingress middleware, keys, request bodies."""
