"""Recordings of the video rooms: listed with their room and session, watched in the
browser by those who may, each answered question's place in them, and kept only as long
as the administrator says (docs/architecture.md, "Recordings")."""
