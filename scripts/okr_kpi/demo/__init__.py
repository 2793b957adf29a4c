"""The demo company: raw table schemas and the deterministic generator's constants."""
