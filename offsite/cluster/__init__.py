"""offsite at district scale (issue 16): the pieces that let roles run as processes on many machines, through NATS JetStream."""
