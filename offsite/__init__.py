"""The composition root: settings, config files, wiring of components, and the `offsite` command line."""
