"""One module per CLI command; `common` holds what they share (knob options, error exits)."""
