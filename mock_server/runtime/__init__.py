"""Running the fake: the server, the front door, TLS, the data directory and its codec."""
