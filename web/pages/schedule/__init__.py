"""Schedule pages: the calendar and a session, duty changes, programmes, working days, feeds."""
