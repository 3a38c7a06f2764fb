"""Helpers for the husk integration suite: bundles, the runtime wrapper,
the console-socket receiver and the leak checker."""
