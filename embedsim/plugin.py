"""The embedsim pytest plugin (entry point ``pytest11``)."""
