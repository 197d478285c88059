"""Channel handlers: one module per platform, translating it to and from the core."""
