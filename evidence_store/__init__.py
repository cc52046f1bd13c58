"""Evidence store: hash-locked, signed, logged, write-once evidence packages (the evidence issue).

Knows nothing of cases. Until it lands, detections carry the evidence package id the producer gives them.
"""
