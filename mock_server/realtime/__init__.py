"""fal's realtime surface: temporary tokens and WebSocket sessions of msgpack frames."""
