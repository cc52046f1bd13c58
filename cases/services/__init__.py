"""Use cases of the case domain: each public method is one transaction (load, ask the domain, commit)."""
