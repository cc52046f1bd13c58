"""SQL persistence of the case domain: tables, imperative mapping of the domain dataclasses, migrations."""
