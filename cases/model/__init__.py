"""The domain's entities, as plain dataclasses: no framework, no database. ``cases.persistence`` maps them."""
