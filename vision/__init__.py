"""Vision: from camera frames to violation events. Knows nothing of databases, HTTP or cases.

So far it holds the contract it emits (``vision.events``); the detector and pipeline follow in the vision issue.
"""
