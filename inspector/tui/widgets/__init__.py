"""The widgets of the Segment Inspector terminal UI, one module per component."""
