"""PostgreSQL (`--database postgresql://…`): the fake's state itself, shared by any number of
replicas, so that they are one fake. `engine.Postgres` is the `falfake.storage.Storage`."""
