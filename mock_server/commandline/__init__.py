"""The command line's parts: the option table, value converters, config files."""
