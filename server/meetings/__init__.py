"""The video rooms as the domain sees them: who takes part, attendance, duty, room control."""
