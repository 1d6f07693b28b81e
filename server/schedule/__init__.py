"""Time in the street: programmes, planned sessions, rotations and swaps, working days, feeds."""
