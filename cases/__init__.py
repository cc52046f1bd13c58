"""The case domain: registries, detections and their review, cases and the law that drives them.

``cases.law`` and ``cases.model`` are plain Python (the law, testable without a database);
``cases.persistence`` maps them to SQL with SQLAlchemy; ``cases.services`` are the use cases, one
transaction each.
"""
