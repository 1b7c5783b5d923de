"""The public-API framework: one policy per module, as DRF does (see each module)."""
