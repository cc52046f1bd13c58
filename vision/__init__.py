"""Vision: from camera frames to violation events, and the detector's training and measurement. Knows nothing of
databases, HTTP or cases."""
