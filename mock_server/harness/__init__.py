"""The control plane under /_falfake: routes, scenarios, the journal, its OpenAPI."""
