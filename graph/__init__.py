"""Store adapters behind one small interface, the engines they talk to, and schema bootstrap."""
